from django.apps import AppConfig

from clinics import extensions


class CampaignsConfig(AppConfig):
    name = "campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import receivers  # noqa: F401 — connects this app's signal receivers
        from . import timeline
        from .home import home_summary

        # The console's home (clinics.views.home) asks the kernel for its figures; campaigns owns them.
        extensions.register_home_provider(home_summary)
        # The patient record (scheduling/record.py) asks for this app's events through the kernel.
        extensions.register_timeline_provider("campaigns", timeline.patient_events)
