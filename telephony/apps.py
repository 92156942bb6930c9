from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "telephony"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import receivers  # noqa: F401 — connects this app's signal receivers
        from clinics import extensions

        from .agent_directory import TelephonyAgentDirectory

        extensions.register_agent_directory(TelephonyAgentDirectory())
