"""pytest (pytest.ini): tasks run in-process unless a test starts a real worker; emails stay in memory."""
from .base import *  # noqa: F403

DEBUG = False
# Tests about queueing start a real worker (conftest `celery_worker_queue`), which switches this off meanwhile.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
