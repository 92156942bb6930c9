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


@checks.register(checks.Tags.security, deploy=True)
def provider_webhook_secrets(app_configs, **kwargs):
    """The ElevenLabs post-call webhook refuses every event while its secret is unset (docs/api/public.md,
    ElevenLabs): flagged wherever ElevenLabs is in use."""
    uses_elevenlabs = settings.PROVIDERS.get("voice") == "elevenlabs" or getattr(settings, "ELEVENLABS_API_KEY", "")
    if uses_elevenlabs and not getattr(settings, "ELEVENLABS_WEBHOOK_SECRET", ""):
        return [checks.Warning("ELEVENLABS_WEBHOOK_SECRET is not set: the ElevenLabs post-call webhook refuses every "
                               "event (401), so no call is recorded.",
                               hint="Copy the webhook's HMAC secret from the ElevenLabs dashboard into "
                                    "ELEVENLABS_WEBHOOK_SECRET.", id="frontdesk.W006")]
    return []


@checks.register(checks.Tags.security, deploy=True)
def video_webhook_key(app_configs, **kwargs):
    """The Dyte webhook refuses every event while DYTE_WEBHOOK_PUBLIC_KEY is unset (docs/api/video.md): flagged
    wherever Dyte is in use, since attendance would then never be closed by the provider."""
    uses_dyte = settings.PROVIDERS.get("video") == "dyte" or getattr(settings, "DYTE_TOKEN", "")
    if uses_dyte and not getattr(settings, "DYTE_WEBHOOK_PUBLIC_KEY", ""):
        return [checks.Warning("DYTE_WEBHOOK_PUBLIC_KEY is not set: the Dyte webhook refuses every event (403).",
                               hint="Copy the webhook public key (PEM) from the Dyte dashboard into "
                                    "DYTE_WEBHOOK_PUBLIC_KEY.", id="frontdesk.W007")]
    return []


@checks.register(checks.Tags.security, deploy=True)
def webhook_allowed_networks(app_configs, **kwargs):
    """Outbound webhooks reach only public addresses; WEBHOOK_ALLOWED_NETWORKS opens private ones for tests."""
    if getattr(settings, "WEBHOOK_ALLOWED_NETWORKS", None):
        return [checks.Warning("WEBHOOK_ALLOWED_NETWORKS is set: outbound webhooks may reach "
                               f"{', '.join(settings.WEBHOOK_ALLOWED_NETWORKS)}, which are not public.",
                               hint="Leave it empty outside tests.", id="frontdesk.W008")]
    return []
