"""pytest (pytest.ini): tasks run in-process unless a test starts a real worker; emails stay in memory.

Under pytest-xdist (`make test` runs one process per core) each process gets its own Redis database, as it gets
its own test database (pytest-django's `_gw<n>` suffix): the broker queues, cache and rate-limit counters of one
process's tests, and the real workers some of them start, never see the other's."""
import os

_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
if _xdist_worker.startswith("gw") and _redis_url:
    os.environ["REDIS_URL"] = f"{_redis_url.rsplit('/', 1)[0]}/{1 + int(_xdist_worker[2:])}"

from .base import *  # noqa: E402, F403

DEBUG = False
# Tests about queueing start a real worker (conftest `celery_worker_queue`), which switches this off meanwhile.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# dj-stripe's 520-operation `0002_2_10` costs 45-65 s of CPU per test database; the test databases create its
# tables from its models in one migration instead (see config/djstripe_test_migrations/0001_initial.py).
MIGRATION_MODULES = {"djstripe": "config.djstripe_test_migrations"}

# Argon2 as in production, with its cheapest parameters: production's (time 2, 100 MiB, 8 lanes) cost about 0.1 s and
# both cores per hash, paid for every user a test creates and every sign-in; the hashes still read "argon2$...".
PASSWORD_HASHERS = ["config.test_hashers.QuickArgon2PasswordHasher", "django.contrib.auth.hashers.PBKDF2PasswordHasher"]

# WhiteNoise indexes every static file when a request handler is built (WHITENOISE_USE_FINDERS): 12 ms for each test
# client, about 1,500 of them a run. Tests look static files up when asked instead (the browser tests' live server
# serves static files through Django's own handler either way).
WHITENOISE_AUTOREFRESH = True
