"""Engagement's part of the patient record (`clinics.extensions.register_timeline_provider`, in apps.py): triage
answers and feedback about the patient's appointments, newest first, at most LIMIT of each."""
from django.utils.translation import gettext as _

from clinics.extensions import TimelineEntry

from .models import FeedbackResponse, TriageResponse

LIMIT = 100


def _answer_text(answers) -> str:
    parts = []
    for item in answers or []:
        if isinstance(item, dict):
            question = item.get("question") or item.get("label") or item.get("id") or ""
            parts.append(f"{question}: {item.get('answer', item.get('value', ''))}")
        else:
            parts.append(str(item))
    return "; ".join(parts)


def patient_events(patient, *, full: bool) -> list[TimelineEntry]:
    """Triage answers (health data: the answers only when `full`) and feedback scores with their comments."""
    triage = (TriageResponse.objects.for_clinic(patient.clinic_id).filter(appointment__patient_id=patient.pk)
              .order_by("-submitted_at")[:LIMIT])
    feedback = (FeedbackResponse.objects.for_clinic(patient.clinic_id).filter(appointment__patient_id=patient.pk)
                .order_by("-submitted_at")[:LIMIT])
    entries = [TimelineEntry(at=row.submitted_at, kind="triage", title=_("Triage answers"),
                             detail=_answer_text(row.answers) if full else "") for row in triage]
    entries += [TimelineEntry(at=row.submitted_at, kind="feedback",
                              title=_("Feedback: %(score)s out of 10") % {"score": row.score},
                              detail=row.comment if full else "") for row in feedback]
    return entries
