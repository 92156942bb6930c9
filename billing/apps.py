from django.apps import AppConfig

from clinics import extensions


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401 (registers the deploy checks)
        from .selectors import plan_summary

        # The login's plan and features, and the knowledge base's file limit, read the subscription through this.
        extensions.register_plan_provider(plan_summary)
