"""A deployment (wsgi, asgi, celery): refuses to start with a development secret or without a required value.

`manage.py check --deploy` with these settings is clean once the values of `.env.example` are set.
"""
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (DEVELOPMENT_BLIND_INDEX_KEY, DEVELOPMENT_PII_KEY, DEVELOPMENT_SECRET_KEY, JWT_SIGNING_KEY,
                   PII_BLIND_INDEX_KEY, PII_ENCRYPTION_KEYS, SECRET_KEY, database_config, env)

# HS256 wants a key of at least its 256-bit output; anything shorter is guessable offline from one token.
MIN_JWT_SIGNING_KEY_CHARS = 32

_refusals = []
if SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50:
    _refusals.append("SECRET_KEY must be set to 50 or more random characters")
if not PII_ENCRYPTION_KEYS or DEVELOPMENT_PII_KEY in PII_ENCRYPTION_KEYS:
    _refusals.append("PII_ENCRYPTION_KEYS must be set and must not hold the development key")
if PII_BLIND_INDEX_KEY == DEVELOPMENT_BLIND_INDEX_KEY:
    _refusals.append("PII_BLIND_INDEX_KEY must be set")
# Unset, JWT_SIGNING_KEY falls back to SECRET_KEY (base.py): a key of its own, so that a leaked or rotated one
# does not take sessions, password-reset links and every dashboard token with it.
if (not env("JWT_SIGNING_KEY", default="") or JWT_SIGNING_KEY in (DEVELOPMENT_SECRET_KEY, SECRET_KEY)
        or len(JWT_SIGNING_KEY) < MIN_JWT_SIGNING_KEY_CHARS):
    _refusals.append(f"JWT_SIGNING_KEY must be set to {MIN_JWT_SIGNING_KEY_CHARS} or more random characters, "
                     "other than SECRET_KEY")
if not env("DATABASE_URL", default=""):
    _refusals.append("DATABASE_URL must be set (production never uses the embedded PostgreSQL)")
if not env("ALLOWED_HOSTS", default=""):
    _refusals.append("ALLOWED_HOSTS must be set")
if _refusals:
    raise ImproperlyConfigured("Production settings refused: " + "; ".join(_refusals) + " (see .env.example).")

DATABASES = {"default": database_config(env("DATABASE_URL"))}
# Persistent connections (one per gunicorn worker or Celery process), checked before reuse so a database restart
# or a dropped idle connection costs a reconnect, not a failed request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DEBUG = env.bool("DEBUG", default=False)

# HTTPS only, unless a value says otherwise (`manage.py check --deploy` warns then).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
