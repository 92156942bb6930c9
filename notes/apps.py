from django.apps import AppConfig

from clinics import extensions


class NotesConfig(AppConfig):
    name = "notes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import receivers  # noqa: F401 — connects this app's signal receivers
        from . import timeline
        # The patient record (scheduling/record.py) asks for this app's events through the kernel.
        extensions.register_timeline_provider("notes", timeline.patient_events)
