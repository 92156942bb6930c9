"""Notes' part of the patient record (`clinics.extensions.register_timeline_provider`, in apps.py): the
consultation notes linked to the patient, newest first, at most LIMIT."""
from django.urls import reverse
from django.utils.translation import gettext as _

from clinics.extensions import TimelineEntry

from .models import Note

LIMIT = 100


def patient_events(patient, *, full: bool) -> list[TimelineEntry]:
    """The patient's consultation notes; the section titles (what the note covers) only when `full`."""
    notes = (Note.objects.for_clinic(patient.clinic_id).filter(patient_id=patient.pk)
             .prefetch_related("sections").order_by("-created_at", "-id")[:LIMIT])
    return [TimelineEntry(
        at=note.created_at, kind="note",
        title=_("Consultation note (%(status)s)") % {"status": note.get_transcription_status_display()},
        detail=", ".join(section.title for section in note.sections.all()) if full else "",
        url=reverse("notes:detail", args=[note.pk])) for note in notes]
