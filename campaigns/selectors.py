"""Reads of patient engagement: triage questions, reminders due, NPS and the dashboard's numbers."""
import datetime as dt

from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext as _

from clinics.errors import InvalidInput
from scheduling.models import ACTIVE_STATUSES, Appointment
from telephony.models import Call

from .models import FeedbackResponse, Reminder, Task, TriageQuestionnaire, TriageResponse

# A clinic may ask for reminders at most a week ahead; the beat job looks no further.
MAX_REMINDER_HOURS = 168
QUESTION_TYPES = {choice.value for choice in TriageQuestionnaire.QuestionType}
MAX_QUESTIONS = 50
MAX_CHOICES = 20
MAX_CHOICE_LENGTH = 100

# A refusal of SMS is the key present and false. Containment is never NULL, so a patient whose consents lack
# the key is not dropped by a negation (`exclude(consents__sms=False)` is NULL, hence false, for a missing key).
SMS_REFUSED = Q(consents__contains={"sms": False})
MARKETING_CONSENTED = Q(consents__contains={"marketing": True})


def marketing_sms_reachable(patients):
    """The patients a marketing SMS may reach: a phone on file, an explicit marketing opt-in (RGPD art. 6(1)(a))
    and no refusal of SMS. An opt-in that names no channel covers SMS; `{"sms": false}` always wins."""
    return patients.exclude(phone_index="").exclude(SMS_REFUSED).filter(MARKETING_CONSENTED)


def default_questions() -> list[dict]:
    """The triage form of a clinic that has not written its own (labels in the active language)."""
    return [
        {"id": "reason", "label": _("What is the reason for your appointment?"), "type": "text", "required": True},
        {"id": "medication", "label": _("Which medicines are you taking?"), "type": "text", "required": False},
        {"id": "allergies", "label": _("Do you have any allergies?"), "type": "yesno", "required": True},
        {"id": "pain", "label": _("How much pain do you feel today (0–10)?"), "type": "scale", "required": False},
    ]


def questionnaire_for(appointment):
    """The service's questionnaire, else the clinic's default one, else None (built-in questions)."""
    rows = {row.service_id: row for row in TriageQuestionnaire.objects.for_clinic(appointment.clinic_id).filter(
        Q(service_id=appointment.service_id) | Q(service__isnull=True))}
    return rows.get(appointment.service_id) or rows.get(None)


def questions_for(appointment) -> list[dict]:
    """The questions the triage form of this appointment asks."""
    questionnaire = questionnaire_for(appointment)
    if questionnaire is not None and questionnaire.questions:
        return questionnaire.questions
    return default_questions()


def _invalid_question(message: str) -> InvalidInput:
    return InvalidInput.on("questions", message)


def clean_questions(questions) -> list[dict]:
    """Validate a list of questions as the editor or an API sends it; InvalidInput naming the bad one."""
    if not isinstance(questions, list) or not questions:
        raise InvalidInput(None, _("Add at least one question."), {"questions": [_("Required.")]})
    if len(questions) > MAX_QUESTIONS:
        raise _invalid_question(_("At most %(n)s questions.") % {"n": MAX_QUESTIONS})
    cleaned, seen = [], set()
    for position, question in enumerate(questions, start=1):
        if not isinstance(question, dict) or not str(question.get("label", "")).strip():
            raise _invalid_question(_("Question %(n)s has no text.") % {"n": position})
        kind = question.get("type") or "text"
        if kind not in QUESTION_TYPES:
            raise _invalid_question(_("Unknown type: %(type)s") % {"type": str(kind)[:40]})
        raw_choices = question.get("choices") or []
        if not isinstance(raw_choices, list) or len(raw_choices) > MAX_CHOICES:
            raise _invalid_question(_("Question %(n)s has more than %(max)s choices.")
                                    % {"n": position, "max": MAX_CHOICES})
        choices = [str(choice).strip()[:MAX_CHOICE_LENGTH] for choice in raw_choices if str(choice).strip()]
        if kind == "choice" and len(choices) < 2:
            raise _invalid_question(_("Question %(n)s needs two choices.") % {"n": position})
        qid = str(question.get("id") or f"q{position}").strip()[:40]
        if qid in seen:
            qid = f"q{position}"
        seen.add(qid)
        cleaned.append({"id": qid, "label": str(question["label"]).strip()[:300], "type": kind,
                        "choices": choices if kind == "choice" else [], "required": bool(question.get("required"))})
    return cleaned


def appointments_needing_reminder(now):
    """Active appointments starting within the longest reminder window that hold no reminder claim yet."""
    return (Appointment.objects
            .filter(status__in=ACTIVE_STATUSES, starts_at__gt=now,
                    starts_at__lte=now + dt.timedelta(hours=MAX_REMINDER_HOURS))
            .exclude(Exists(Reminder.objects.filter(appointment=OuterRef("pk"), kind="reminder")))
            .select_related("clinic", "patient", "professional")
            .order_by("starts_at"))


def _nps_aggregates():
    return {
        "responses": Count("id"),
        "promoters": Count("id", filter=Q(score__gte=9)),
        "detractors": Count("id", filter=Q(score__lte=6)),
    }


def nps_from(counts: dict) -> dict:
    """NPS = % promoters (9–10) − % detractors (0–6), from -100 to 100; None without responses."""
    total = counts.get("responses") or 0
    promoters, detractors = counts.get("promoters") or 0, counts.get("detractors") or 0
    return {"score": round((promoters - detractors) * 100 / total) if total else None, "responses": total,
            "promoters": promoters, "passives": total - promoters - detractors, "detractors": detractors}


def nps(clinic, start=None, end=None, professional=None) -> dict:
    """The clinic's NPS over feedback submitted in [start, end), optionally for one professional."""
    rows = FeedbackResponse.objects.for_clinic(clinic)
    if start:
        rows = rows.filter(submitted_at__gte=start)
    if end:
        rows = rows.filter(submitted_at__lt=end)
    if professional is not None:
        rows = rows.filter(professional=professional)
    return nps_from(rows.aggregate(**_nps_aggregates()))


def nps_by_professional(clinic, start=None, end=None) -> list[dict]:
    """One NPS per professional who received feedback in [start, end), in one query."""
    rows = FeedbackResponse.objects.for_clinic(clinic)
    if start:
        rows = rows.filter(submitted_at__gte=start)
    if end:
        rows = rows.filter(submitted_at__lt=end)
    grouped = (rows.values("professional_id", "professional__name").annotate(**_nps_aggregates())
               .order_by("professional__name"))
    return [{"professionalId": str(row["professional_id"]), "name": row["professional__name"], **nps_from(row)}
            for row in grouped]


def dashboard_stats(clinic, start, end) -> dict:
    """Calls, bookings, conversion (bookings per call), NPS and no-shows for [start, end), in five queries."""
    appointments = Appointment.objects.for_clinic(clinic).aggregate(
        bookings=Count("id", filter=Q(created_at__gte=start, created_at__lt=end)),
        phone_bookings=Count("id", filter=Q(created_at__gte=start, created_at__lt=end,
                                            source=Appointment.Source.PHONE_AGENT)),
        cancelled=Count("id", filter=Q(starts_at__gte=start, starts_at__lt=end,
                                       status=Appointment.Status.CANCELLED)),
        completed=Count("id", filter=Q(starts_at__gte=start, starts_at__lt=end,
                                       status=Appointment.Status.COMPLETED)),
        no_shows=Count("id", filter=Q(starts_at__gte=start, starts_at__lt=end, status=Appointment.Status.NO_SHOW)),
    )
    calls = _call_counts(clinic, start, end)
    bookings = appointments["bookings"]
    return {
        "from": start.isoformat(), "to": end.isoformat(),
        "calls": calls["total"], "callsWithBooking": calls["booked"],
        "bookings": bookings, "phoneBookings": appointments["phone_bookings"],
        "conversion": round(bookings / calls["total"], 4) if calls["total"] else None,
        "noShows": appointments["no_shows"], "completed": appointments["completed"],
        "cancelled": appointments["cancelled"],
        "noShowRate": (round(appointments["no_shows"] / (appointments["no_shows"] + appointments["completed"]), 4)
                       if appointments["no_shows"] + appointments["completed"] else None),
        "nps": nps(clinic, start, end),
        "npsByProfessional": nps_by_professional(clinic, start, end),
        "openTasks": Task.objects.for_clinic(clinic).filter(status=Task.Status.OPEN).count(),
    }


def _call_counts(clinic, start, end) -> dict:
    return Call.objects.for_clinic(clinic).filter(created_at__gte=start, created_at__lt=end).aggregate(
        total=Count("id"), booked=Count("id", filter=Q(appointment_booked=True)))


def engagement_export(patient) -> dict:
    """Triage answers, feedback, reminders and tasks about one patient, for the RGPD export."""
    clinic = patient.clinic_id
    triage = TriageResponse.objects.for_clinic(clinic).filter(appointment__patient=patient).order_by("submitted_at")
    feedback = FeedbackResponse.objects.for_clinic(clinic).filter(appointment__patient=patient).order_by("submitted_at")
    reminders = Reminder.objects.for_clinic(clinic).filter(appointment__patient=patient).order_by("claimed_at")
    tasks = Task.objects.for_clinic(clinic).filter(patient=patient).order_by("created_at")
    return {
        "triageResponses": [{"appointmentId": str(row.appointment_id), "submittedAt": row.submitted_at.isoformat(),
                             "answers": row.answers} for row in triage],
        "feedback": [{"appointmentId": str(row.appointment_id), "score": row.score, "comment": row.comment,
                      "submittedAt": row.submitted_at.isoformat()} for row in feedback],
        "reminders": [{"appointmentId": str(row.appointment_id), "kind": row.kind, "state": row.state,
                       "reply": row.reply, "sentAt": row.sent_at.isoformat() if row.sent_at else None}
                      for row in reminders],
        "tasks": [{"id": str(row.id), "title": row.title, "description": row.description, "status": row.status,
                   "dueAt": row.due_at.isoformat() if row.due_at else None} for row in tasks],
    }


def tasks_for(clinic, *, status=None, due_before=None, assignee=None):
    """The clinic's tasks, filtered; soonest due first, undated last."""
    rows = Task.objects.for_clinic(clinic).select_related("patient")
    if status:
        rows = rows.filter(status=status)
    if due_before:
        rows = rows.filter(due_at__lt=due_before)
    if assignee == Task.PHONE_AGENT:
        rows = rows.filter(assigned_to_phone_agent=True)
    elif assignee:
        rows = rows.filter(assignee_id=assignee)
    return rows
