from django.apps import AppConfig

from clinics import extensions


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401 (registers the deploy checks)

        _drop_djstripe_endpoint_secret_checks()
        from .selectors import plan_summary

        # The login's plan and features, and the knowledge base's file limit, read the subscription through this.
        extensions.register_plan_provider(plan_summary)


DJSTRIPE_ENDPOINT_SECRET_CHECKS = {"check_webhook_endpoint_has_secret", "check_webhook_validation"}


def _drop_djstripe_endpoint_secret_checks():
    """dj-stripe's `check_webhook_endpoint_has_secret` and `check_webhook_validation` query the database on every
    system-check run (so on every Celery worker start, before any connection is wanted) to check the secrets kept in
    its webhook endpoint rows. Ours hold none by design: STRIPE_WEBHOOK_SECRET comes from the environment at each
    verification and our own webhook view checks it (docs/architecture.md "Billing and dj-stripe"; deploy check
    billing.E001); dj-stripe's webhook view is not mounted. So unregister those two checks instead of running them."""
    import djstripe.checks  # noqa: F401 (registers its checks now, so they can be removed before any run)
    from django.core.checks import registry

    registry.registry.registered_checks = {
        check for check in registry.registry.registered_checks
        if getattr(check, "__name__", "") not in DJSTRIPE_ENDPOINT_SECRET_CHECKS}
