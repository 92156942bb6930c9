"""`make run` and `manage.py` on a developer's machine: debug pages, development secrets with a warning."""
import os
import sys

from .base import *  # noqa: F403
from .base import (DEVELOPMENT_BLIND_INDEX_KEY, DEVELOPMENT_PII_KEY, DEVELOPMENT_SECRET_KEY, JWT_SIGNING_KEY,
                   PII_BLIND_INDEX_KEY, PII_ENCRYPTION_KEYS, SECRET_KEY, env)

DEBUG = env.bool("DEBUG", default=True)

_development_secrets = [name for name, in_use in (
    ("SECRET_KEY", SECRET_KEY == DEVELOPMENT_SECRET_KEY),
    ("PII_ENCRYPTION_KEYS", DEVELOPMENT_PII_KEY in PII_ENCRYPTION_KEYS),
    ("PII_BLIND_INDEX_KEY", PII_BLIND_INDEX_KEY == DEVELOPMENT_BLIND_INDEX_KEY),
    ("JWT_SIGNING_KEY", JWT_SIGNING_KEY == DEVELOPMENT_SECRET_KEY),
) if in_use]
# Once per process tree: runserver's autoreloader and Celery's pool re-import the settings in child processes,
# which inherit the environment.
if _development_secrets and not os.environ.get("FRONTDESK_DEVELOPMENT_SECRETS_WARNED"):
    os.environ["FRONTDESK_DEVELOPMENT_SECRETS_WARNED"] = "1"
    # A warning, not a refusal: the demo runs on these; config.settings.production refuses them.
    sys.stderr.write(f"Warning: development defaults in use for {', '.join(_development_secrets)} "
                     "(fine for the demo, never for real patients' data).\n")
