"""The shared machinery: real services, the schema, production settings and queued tasks."""
import base64
import os
import secrets
import subprocess
import sys

import pytest
import yaml
from django.db import connection
from openapi_spec_validator import validate

from config.celery import ping

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.django_db
def test_migrations_enable_pgvector_and_btree_gist():
    with connection.cursor() as cursor:
        cursor.execute("select extname from pg_extension order by extname")
        extensions = {row[0] for row in cursor.fetchall()}
        cursor.execute("show server_version_num")
        version = int(cursor.fetchone()[0])
    assert {"vector", "btree_gist"} <= extensions
    assert version >= 150000


@pytest.mark.django_db
def test_openapi_schema_is_valid_and_covers_every_surface(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    assert schema["openapi"].startswith("3.")


@pytest.mark.django_db
def test_swagger_ui_renders(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content


@pytest.mark.worker
@pytest.mark.django_db
def test_enqueued_task_is_run_by_a_real_worker(celery_worker_queue):
    result = ping.apply_async(args=["queued"], queue=celery_worker_queue)
    assert result.get(timeout=60) == {"pong": "queued"}


def test_deploy_checks_are_clean_with_production_settings():
    env = {
        # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; a deployment never has it.
        **{key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "0", "ALLOWED_HOSTS": "frontdesk.example.com",
        "SECURE_SSL_REDIRECT": "1", "SESSION_COOKIE_SECURE": "1", "CSRF_COOKIE_SECURE": "1",
        "SECURE_HSTS_SECONDS": "31536000", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1", "SECURE_HSTS_PRELOAD": "1",
        "PII_ENCRYPTION_KEYS": "prod1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PII_BLIND_INDEX_KEY": secrets.token_urlsafe(32),
    }
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_checks_flag_development_defaults():
    env = {key: value for key, value in os.environ.items()
           if key not in ("SECRET_KEY", "PII_ENCRYPTION_KEYS", "PII_BLIND_INDEX_KEY", "SECURE_SSL_REDIRECT")}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    output = result.stderr + result.stdout
    for check_id in ("frontdesk.W001", "frontdesk.W002", "frontdesk.W003", "security.W008"):
        assert check_id in output


def test_deploy_checks_want_stripe_secrets_with_the_stripe_backend():
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRIPE_")}
    env["PAYMENTS_BACKEND"] = "stripe"
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert "frontdesk.W005" in result.stderr + result.stdout


def test_env_example_lists_every_setting_read_from_the_environment():
    import re

    settings_source = open(os.path.join(BASE_DIR, "config", "settings.py"), encoding="utf-8").read()
    read = set(re.findall(r'env(?:\.\w+)?\("([A-Z][A-Z0-9_]*)"', settings_source))
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", open(os.path.join(BASE_DIR, ".env.example")).read(), re.M))
    assert read and not read - listed, sorted(read - listed)
