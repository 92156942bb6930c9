"""Frontdesk settings, one module per environment; this package picks none of them.

Every command names its module: `manage.py` defaults to `config.settings.development`, pytest uses
`config.settings.test` (pytest.ini), and `config/wsgi.py`, `config/asgi.py` and `config/celery.py` default to
`config.settings.production`. `DJANGO_SETTINGS_MODULE` overrides each default.
"""
