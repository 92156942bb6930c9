"""Deploy checks of billing: a webhook secret anybody can read must never verify payments."""
from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def published_webhook_secret(app_configs, **kwargs):
    """STRIPE_WEBHOOK_SECRET is set to the development secret published in this repository: outside DEBUG every
    event signed with it is refused (billing/backends/payments.py). Left unset, the offline backend's fallback to
    it is refused the same way at run time, and the offline Checkout says so."""
    from .backends.payments import PUBLISHED_WEBHOOK_SECRETS

    if settings.STRIPE_WEBHOOK_SECRET in PUBLISHED_WEBHOOK_SECRETS and not settings.DEBUG:
        return [checks.Error(
            "STRIPE_WEBHOOK_SECRET is the development secret published with Frontdesk: payments are refused "
            "outside development.",
            hint="Set STRIPE_WEBHOOK_SECRET to the signing secret of your Stripe webhook endpoint (whsec_...), or "
                 "to a long random value with PAYMENTS_BACKEND=local.", id="billing.E001")]
    return []
