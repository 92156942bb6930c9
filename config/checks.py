"""Deploy checks of our own: development secrets must never reach production."""
from django.conf import settings
from django.core import checks

DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-in-production-0123456789"
DEV_PII_KEY_ID = "dev1"
DEV_BLIND_INDEX_KEY = "dev-only-blind-index-key"


@checks.register(checks.Tags.security, deploy=True)
def development_secrets(app_configs, **kwargs):
    problems = []
    if settings.SECRET_KEY == DEV_SECRET_KEY:
        problems.append(checks.Warning("SECRET_KEY is the development default.", id="frontdesk.W001"))
    if any(key.startswith(f"{DEV_PII_KEY_ID}:") for key in settings.PII_ENCRYPTION_KEYS):
        problems.append(checks.Warning("PII_ENCRYPTION_KEYS holds the development key.", id="frontdesk.W002"))
    if settings.PII_BLIND_INDEX_KEY == DEV_BLIND_INDEX_KEY:
        problems.append(checks.Warning("PII_BLIND_INDEX_KEY is the development default.", id="frontdesk.W003"))
    if settings.JWT_SIGNING_KEY == DEV_SECRET_KEY:
        problems.append(checks.Warning("JWT_SIGNING_KEY is the development default.", id="frontdesk.W004"))
    if settings.PROVIDERS.get("payments") == "stripe" and not (
            getattr(settings, "STRIPE_SECRET_KEY", "") and getattr(settings, "STRIPE_WEBHOOK_SECRET", "")):
        problems.append(checks.Warning("The stripe payments backend needs STRIPE_SECRET_KEY and "
                                       "STRIPE_WEBHOOK_SECRET.", id="frontdesk.W005"))
    return problems
