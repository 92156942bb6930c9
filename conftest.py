"""Shared fixtures: clinics and credentials, API clients per surface, a real Celery worker, a browser.

Settings: `config.settings.test` (pytest.ini). The database is DATABASE_URL when given, else the embedded server's
socket, which `make test` starts (`python -m config.embedded_db`); importing settings starts nothing.
"""
import os
import subprocess
import sys
import time
import uuid

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


# Content types and permissions are rows Django derives from the models: the flush after a transactional test
# deletes them and its post_migrate signal writes them again (0.2 s of the 0.3 s a flush costs). Kept, they are what
# that signal would write; the other tables are emptied with DELETE in one transaction (FK checks deferred), which
# costs a few milliseconds on the handful of rows a test leaves instead of TRUNCATE's new files for 126 tables
# (measured: 0.03 s against 0.2 to 0.3 s, for about 90 transactional tests).
KEPT_ON_FLUSH = {"django_content_type", "auth_permission"}


def _quick_flush(self):
    from django.db import connections, transaction

    if self.available_apps is not None or self.serialized_rollback:
        return _django_fixture_teardown(self)
    for db_name in self._databases_names(include_mirrors=False):
        connection = connections[db_name]
        tables = [table for table in connection.introspection.django_table_names(only_existing=True,
                                                                                 include_views=False)
                  if table not in KEPT_ON_FLUSH]
        quote = connection.ops.quote_name
        with transaction.atomic(using=db_name), connection.cursor() as cursor:
            # Tables whose own triggers refuse DELETE (the append-only audit log) are truncated, first: a TRUNCATE
            # cannot follow deletes whose deferred checks are pending.
            cursor.execute("SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal")
            guarded = {name.strip('"') for (name,) in cursor.fetchall()} & set(tables)
            if guarded:
                cursor.execute(f"TRUNCATE {', '.join(quote(table) for table in sorted(guarded))}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            cursor.execute("".join(f"DELETE FROM {quote(table)};" for table in tables if table not in guarded))


def pytest_configure(config):
    from django.test import TransactionTestCase

    global _django_fixture_teardown
    _django_fixture_teardown = TransactionTestCase._fixture_teardown
    TransactionTestCase._fixture_teardown = _quick_flush


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`make test`), the modules that drive a browser or start a real worker (the slowest, tens
    of seconds each) are handed out first: pytest-django's ordering puts their transactional tests after all others,
    and xdist deals modules out in collection order (`--no-loadscope-reorder`, pytest.ini), so they came last and one
    process ran them alone while the other waited. A module's own tests keep their order."""
    if not hasattr(config, "workerinput"):
        return
    slow = {item.nodeid.split("::")[0] for item in items
            if item.get_closest_marker("browser") or item.get_closest_marker("worker")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow)


@pytest.fixture
def clinic(db):
    from clinics.tests.factories import ClinicFactory

    return ClinicFactory()


@pytest.fixture
def other_clinic(db):
    from clinics.tests.factories import ClinicFactory

    return ClinicFactory(name="Outra Clínica")


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def make_client(db):
    """`make_client(clinic, permissions=("read","write","pii"), header="bearer")` -> APIClient with a fresh key."""
    from rest_framework.test import APIClient

    from clinics.tests.factories import issue_key

    def build(clinic, permissions=("read", "write", "pii"), header="bearer", **key_kwargs):
        raw = issue_key(clinic, permissions=permissions, **key_kwargs)
        client = APIClient()
        if header == "bearer":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        else:
            client.credentials(HTTP_X_API_KEY=raw)
        client.raw_key = raw
        return client

    return build


@pytest.fixture
def jwt_client_for(db):
    """`jwt_client_for(membership)` or `jwt_client_for(clinic, role="admin")` -> an APIClient signed in to the
    dashboard as after `POST /api/auth/login` (a real session, so logout and refresh work on it). The client
    carries `.membership` and `.tokens` (access and refresh tokens)."""
    from rest_framework.test import APIClient

    from clinics import services
    from clinics.models import Clinic, Membership
    from clinics.tests.factories import MembershipFactory

    def build(target, role=Membership.Role.ADMIN):
        membership = MembershipFactory(clinic=target, role=role) if isinstance(target, Clinic) else target
        tokens = services.start_session(membership)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
        client.membership, client.tokens = membership, tokens
        return client

    return build


@pytest.fixture
def client_for(make_client, clinic):
    """An API client holding a read/write key of `clinic`."""
    return make_client(clinic)


@pytest.fixture
def foreign_client(make_client, other_clinic):
    """An API client of another clinic: every object of `clinic` must be 404 to it."""
    return make_client(other_clinic)


@pytest.fixture
def celery_worker_queue():
    """Start a real Celery worker process on Redis, consuming a private queue; yield the queue name."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    yield from _real_worker(queue)


@pytest.fixture
def heavy_queue_worker():
    """A real Celery worker consuming the `heavy` queue as in production, for a flow whose tasks are sent by their
    own routes (an upload queues the reading of its document there); yield the queue name. The test may queue
    before asking for it (with `task_always_eager` off), to watch the work wait and then end."""
    yield from _real_worker("heavy")


def _real_worker(queues):
    from django.conf import settings

    from config.celery import app

    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0"}
    if settings.DATABASES["default"]["NAME"].startswith("test_"):
        env["DATABASE_URL"] = _database_url(settings.DATABASES["default"])
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues, "--pool", "solo",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield queues
    finally:
        app.conf.task_always_eager = previous
        # Killed: a warm (or cold) shutdown costs the test 3-5 s and nothing the test checks comes after it.
        worker.kill()
        worker.wait(10)


def _database_url(db):
    host = db.get("HOST") or ""
    if host.startswith("/"):
        return f"postgresql://{db['USER']}:{db.get('PASSWORD') or ''}@/{db['NAME']}?host={host}"
    return f"postgresql://{db['USER']}:{db.get('PASSWORD') or ''}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def wait_for(predicate, timeout=20.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    """Each test gets its own cache key prefix: rate-limit counters never leak between tests or runs."""
    caches = {name: dict(config) for name, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches
    yield


@pytest.fixture
def rate_limit_clock(monkeypatch):
    """The rate limiter's clock stopped at the test's start, returned: a burst of requests falls in one fixed
    window wherever in the minute the test runs, instead of the test waiting for a fresh minute. Only the
    limiter's `time` is replaced (clinics.ratelimit and the throttles that compute Retry-After); the counting,
    the keys and the headers are the real code's."""
    import types

    stopped = time.time()
    clock = types.SimpleNamespace(time=lambda: stopped, monotonic=time.monotonic)
    monkeypatch.setattr("clinics.ratelimit.time", clock)
    monkeypatch.setattr("clinics.api.throttles.time", clock)
    return stopped


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """`TEST_DB_SUFFIX=name` gives a run its own test database, so several checkouts can test at once; under
    pytest-xdist each process's database keeps its `_gw<n>` ending as well."""
    from django.conf import settings

    suffix = os.environ.get("TEST_DB_SUFFIX", "")
    if suffix:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        settings.DATABASES["default"].setdefault("TEST", {})
        settings.DATABASES["default"]["TEST"]["NAME"] = "_".join(
            part for part in ("test", settings.DATABASES["default"]["NAME"], suffix, worker) if part)


@pytest.fixture(scope="module")
def playwright_session():
    """The one Playwright of a test module. Playwright's sync API keeps its event loop marked as running in this
    thread while it is open, so a second `sync_playwright()` cannot start beside it: every browser fixture
    launches from this one instead of opening its own. Module-scoped, so the loop is gone before the next
    module's tests (pytest-randomly shuffles modules but keeps each module's tests together); Django's ORM may be
    called from a browser test's body meanwhile (DJANGO_ALLOW_ASYNC_UNSAFE)."""
    from tests.browser.conftest import CHROMIUM

    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's Chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            yield playwright
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(scope="module")
def chromium(playwright_session):
    """Debian's Chromium with the flags every browser test uses, shared by a module's tests; each test opens its own
    context (own cookies, storage and routes)."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
