from django.apps import AppConfig

from clinics import extensions


class TelephonyConfig(AppConfig):
    name = "telephony"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import receivers  # noqa: F401 — connects this app's signal receivers
        from . import timeline
        from .agent_directory import TelephonyAgentDirectory

        # The login's agent summary and the knowledge base's agent-id check ask telephony through the kernel.
        extensions.register_agent_directory(TelephonyAgentDirectory())
        # The patient record (scheduling/record.py) asks for this app's events through the kernel.
        extensions.register_timeline_provider("telephony", timeline.patient_events)
