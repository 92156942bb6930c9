from django.apps import AppConfig

from clinics import extensions


class SchedulingConfig(AppConfig):
    name = "scheduling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import record

        # The patient record (scheduling/record.py) asks every app for its events through the kernel.
        extensions.register_timeline_provider("appointments", record.appointment_events)
        extensions.register_timeline_provider("consents", record.consent_events)
