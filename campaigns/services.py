"""Writes of patient engagement, one use case each: triage and feedback links, reminders and their replies,
follow-up tasks, triage questionnaires, and the RGPD erasure of engagement data.

Every SMS goes through `telephony.services.message_send`. Sends that a scheduler repeats (reminders, feedback
requests) claim a row under a unique constraint first, in its own transaction, and only then send: a second
run, a second worker or a restarted beat finds the claim and sends nothing. That makes them at most once.
"""
import datetime as dt
import hashlib
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from clinics.audit import record
from clinics.crypto import blind_index, normalise_text
from clinics.errors import Conflict, DomainError, InvalidInput, NotFound
from clinics.models import Membership
from clinics.phones import InvalidPhoneNumber
from scheduling.models import ACTIVE_STATUSES, Appointment, Patient
from scheduling.patients import normalise_patient_phone
from scheduling.services import appointment_update
from telephony.exceptions import MessageDeliveryFailed
from telephony.models import Message
from telephony.services import message_send

from . import selectors
from .errors import CampaignCode
from .models import FeedbackResponse, PatientLink, Reminder, Task, TriageQuestionnaire, TriageResponse

logger = logging.getLogger(__name__)

TRIAGE_LINK_HOURS = 72
FEEDBACK_LINK_DAYS = 7
FEEDBACK_LOOKBACK_DAYS = 3
# Interrupted claims older than this are reconciled against the outbox (never resent).
CLAIM_RECONCILE_AFTER = dt.timedelta(minutes=10)


def _audit(source, action, obj_type, obj_id, purpose="", clinic=None, **extra):
    return record(source, action, obj_type, obj_id, purpose, clinic=clinic, **extra)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def public_url(kind: str, token: str) -> str:
    path = "triagem" if kind == PatientLink.Kind.TRIAGE else "feedback"
    return f"{settings.SITE_URL.rstrip('/')}/{path}/{token}"


def _local(clinic, moment):
    return moment.astimezone(ZoneInfo(clinic.timezone or "UTC"))


def _send(clinic, phone, body, purpose):
    return message_send(clinic=clinic, to=phone, body=body, purpose=purpose)


def _sms_allowed(patient) -> bool:
    """A phone on file and no explicit refusal of SMS."""
    return bool(patient.phone) and (patient.consents or {}).get("sms", True) is not False


# --- single-use links ---------------------------------------------------------------------------------------------

def _new_link(appointment, kind, lifetime, now) -> tuple[PatientLink, str]:
    token = secrets.token_urlsafe(32)
    link = PatientLink.objects.create(clinic_id=appointment.clinic_id, appointment=appointment, kind=kind,
                                      digest=_digest(token), expires_at=now + lifetime, created_at=now)
    return link, token


@dataclass
class LinkLookup:
    """What a public token opens: `state` is "valid", "expired", "used" or "unknown"."""

    state: str
    link: PatientLink | None = None


def open_link(token: str, kind: str, now=None) -> LinkLookup:
    """Find the link a token names, without trusting the token: only its digest is compared."""
    if not token or len(token) > 200:
        return LinkLookup("unknown")
    link = (PatientLink.objects.select_related("appointment__service", "appointment__professional",
                                               "appointment__clinic")
            .filter(digest=_digest(token), kind=kind).first())
    if link is None:
        return LinkLookup("unknown")
    if link.used_at is not None:
        return LinkLookup("used", link)
    if link.expires_at <= (now or timezone.now()):
        return LinkLookup("expired", link)
    return LinkLookup("valid", link)


class LinkNotUsable(Exception):
    def __init__(self, state):
        self.state = state
        super().__init__(state)


def _consume(link_id, now) -> PatientLink:
    """Lock the link and mark it used; raises LinkNotUsable when it was used or expired meanwhile."""
    link = PatientLink.objects.select_for_update().get(pk=link_id)
    if link.used_at is not None:
        raise LinkNotUsable("used")
    if link.expires_at <= now:
        raise LinkNotUsable("expired")
    link.used_at = now
    link.save(update_fields=["used_at"])
    return link


# --- triage -------------------------------------------------------------------------------------------------------

def _appointment_of(clinic, appointment) -> Appointment:
    """`clinic`'s appointment given as an instance or an id, with its patient; another clinic's is NOT_FOUND."""
    found = Appointment.objects.select_related("clinic", "patient").find(clinic, appointment)
    if found is None:
        raise NotFound(None, _("Appointment not found."))
    return found


def triage_link_send(*, clinic, appointment, actor=None, now=None) -> tuple[PatientLink, object]:
    """Text the patient a single-use link to the triage form of `clinic`'s appointment (an instance or its id;
    docs/api/clinic-v1.md, Triage); returns (link, message). One transaction: a refused or failed send leaves no
    link and no audit row.

    Raises NotFound (no such appointment in this clinic), Conflict APPOINTMENT_NOT_ACTIVE, InvalidInput
    PATIENT_HAS_NO_PHONE, InvalidPhoneNumber, or MessageDeliveryFailed.
    """
    now = now or timezone.now()
    appointment = _appointment_of(clinic, appointment)
    if appointment.status not in ACTIVE_STATUSES:
        raise Conflict(CampaignCode.APPOINTMENT_NOT_ACTIVE, _("Triage can only be sent for an upcoming appointment."))
    patient = appointment.patient
    if not patient.phone:
        raise InvalidInput(CampaignCode.PATIENT_HAS_NO_PHONE, _("The patient has no phone number."))
    with transaction.atomic():
        link, token = _new_link(appointment, PatientLink.Kind.TRIAGE, dt.timedelta(hours=TRIAGE_LINK_HOURS), now)
        with translation.override(clinic.locale):
            body = _("%(clinic)s: before your appointment on %(when)s, please answer a few questions: %(url)s") % {
                "clinic": clinic.name,
                "when": date_format(_local(clinic, appointment.starts_at), "SHORT_DATETIME_FORMAT"),
                "url": public_url(PatientLink.Kind.TRIAGE, token)}
        message = _send(clinic, patient.phone, body, purpose=f"triage:{link.id}")
        link.message_id = message.id
        link.save(update_fields=["message_id"])
        _audit(actor, "triage.sent", "appointment", appointment.id, "triage", clinic=clinic, link=str(link.id))
    return link, message


def validate_answers(questions: list, submitted: dict) -> tuple[list, dict]:
    """Check submitted answers against the questions; returns (answers, errors by question id)."""
    answers, errors = [], {}
    for question in questions:
        qid = str(question.get("id"))
        kind = question.get("type", "text")
        raw = (submitted.get(qid) or "").strip()
        if not raw:
            if question.get("required"):
                errors[qid] = _("This question needs an answer.")
            answers.append({"id": qid, "question": str(question.get("label", "")), "answer": ""})
            continue
        if kind == "yesno" and raw not in ("yes", "no"):
            errors[qid] = _("Choose yes or no.")
        elif kind == "choice" and raw not in [str(choice) for choice in question.get("choices", [])]:
            errors[qid] = _("Choose one of the options.")
        elif kind == "scale" and not (raw.isdigit() and 0 <= int(raw) <= 10):
            errors[qid] = _("Choose a number from 0 to 10.")
        elif len(raw) > 2000:
            errors[qid] = _("At most 2000 characters.")
        answers.append({"id": qid, "question": str(question.get("label", "")), "answer": raw})
    return answers, errors


@transaction.atomic
def triage_submit(*, link: PatientLink, submitted: dict, now=None) -> TriageResponse:
    """Store the answers of a triage form and spend its link (docs/api/public.md, Triage). Raises InvalidInput
    with per-question errors, LinkNotUsable when the link was spent or expired in the meantime."""
    now = now or timezone.now()
    questions = selectors.questions_for(link.appointment)
    answers, errors = validate_answers(questions, submitted)
    if errors:
        raise InvalidInput(CampaignCode.VALIDATION_ERROR, _("Some answers are missing or invalid."), errors)
    link = _consume(link.pk, now)
    response = TriageResponse.objects.create(clinic_id=link.clinic_id, appointment_id=link.appointment_id,
                                             link=link, answers_json=json.dumps(answers, ensure_ascii=False),
                                             submitted_at=now)
    _audit(None, "triage.answered", "appointment", link.appointment_id, "triage", clinic=link.appointment.clinic,
           actor_kind="public")
    return response


# --- feedback -----------------------------------------------------------------------------------------------------

def feedback_request(*, appointment: Appointment, now=None) -> PatientLink | None:
    """Text the patient of a completed appointment a link to the feedback form, once per appointment.

    The link row is the claim (one feedback link per appointment, a unique constraint); None when already
    requested, or when the patient has no phone or refused SMS.
    """
    now = now or timezone.now()
    if appointment.status != Appointment.Status.COMPLETED or not _sms_allowed(appointment.patient):
        return None
    try:
        with transaction.atomic():
            link, token = _new_link(appointment, PatientLink.Kind.FEEDBACK, dt.timedelta(days=FEEDBACK_LINK_DAYS),
                                    now)
    except IntegrityError:
        return None
    clinic = appointment.clinic
    with translation.override(clinic.locale):
        body = _("%(clinic)s: thank you for your visit. How likely are you to recommend us? %(url)s") % {
            "clinic": clinic.name, "url": public_url(PatientLink.Kind.FEEDBACK, token)}
    try:
        message = _send(clinic, appointment.patient.phone, body, purpose=f"feedback:{link.id}")
    except DomainError as exc:
        logger.warning("Feedback request for appointment %s not sent: %s", appointment.id, exc)
        return link
    link.message_id = message.id
    link.save(update_fields=["message_id"])
    return link


def feedback_request_pending(*, now=None) -> int:
    """Request feedback for every appointment completed in the last days that has none; returns how many."""
    now = now or timezone.now()
    pending = (Appointment.objects
               .filter(status=Appointment.Status.COMPLETED, ends_at__lte=now,
                       ends_at__gte=now - dt.timedelta(days=FEEDBACK_LOOKBACK_DAYS))
               .exclude(Exists(PatientLink.objects.filter(appointment=OuterRef("pk"), kind=PatientLink.Kind.FEEDBACK)))
               .select_related("clinic", "patient"))
    sent = 0
    for appointment in pending.iterator(chunk_size=200):
        try:
            if feedback_request(appointment=appointment, now=now):
                sent += 1
        except DatabaseError:
            logger.exception("Feedback request for appointment %s failed", appointment.id)
    return sent


@transaction.atomic
def feedback_submit(*, link: PatientLink, score, comment: str = "", now=None) -> FeedbackResponse:
    """Store a 0–10 score and a comment, and spend the link (docs/api/public.md, Feedback). InvalidInput on a bad
    score; LinkNotUsable when the link was spent or expired in the meantime."""
    now = now or timezone.now()
    try:
        score = int(str(score).strip()[:3])
    except (TypeError, ValueError):
        score = -1
    if not 0 <= score <= 10:
        raise InvalidInput.on("score", _("Choose a score from 0 to 10."))
    comment = (comment or "").strip()[:2000]
    link = _consume(link.pk, now)
    appointment = link.appointment
    response = FeedbackResponse.objects.create(clinic_id=link.clinic_id, appointment=appointment,
                                               professional_id=appointment.professional_id, link=link,
                                               score=score, comment=comment, submitted_at=now)
    _audit(None, "feedback.answered", "appointment", appointment.id, "feedback", clinic=appointment.clinic,
           actor_kind="public")
    return response


# --- reminders ----------------------------------------------------------------------------------------------------

def _parse_time(value, default):
    try:
        return dt.time.fromisoformat(str(value))
    except (TypeError, ValueError):
        return default


def reminder_settings(clinic) -> tuple[int, dt.time, dt.time]:
    """(hours before the appointment, quiet hours start, quiet hours end) from `clinic.booking_rules`."""
    rules = clinic.booking_rules or {}
    try:
        hours = int(rules.get("reminder_hours", 24))
    except (TypeError, ValueError):
        hours = 24
    quiet = rules.get("quiet_hours") or {}
    return (max(1, min(hours, selectors.MAX_REMINDER_HOURS)),
            _parse_time(quiet.get("start"), dt.time(21, 0)), _parse_time(quiet.get("end"), dt.time(9, 0)))


def in_quiet_hours(clinic, moment) -> bool:
    """True when `moment` falls in the clinic's quiet hours (local time; the window may cross midnight)."""
    _hours, start, end = reminder_settings(clinic)
    local = _local(clinic, moment).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def reminder_due(appointment, now) -> bool:
    """The reminder time has come, the appointment is still ahead, and it is not quiet time at the clinic.

    A reminder that falls in quiet hours is sent by the first run after they end.
    """
    hours, _start, _end = reminder_settings(appointment.clinic)
    return (appointment.starts_at > now and appointment.starts_at - dt.timedelta(hours=hours) <= now
            and not in_quiet_hours(appointment.clinic, now))


def _claim(appointment, kind="reminder", now=None) -> Reminder | None:
    try:
        with transaction.atomic():
            return Reminder.objects.create(clinic_id=appointment.clinic_id, appointment=appointment, kind=kind,
                                           claimed_at=now or timezone.now())
    except IntegrityError:
        return None


def reminder_send(*, appointment: Appointment, now=None) -> Reminder | None:
    """Claim, send, then record the reminder of one appointment; None when it was already claimed.

    Claim and record are separate transactions around the SMS: a crash after the send leaves the claim
    "sending", which `reminders_reconcile_interrupted` settles from the outbox without sending again.
    """
    now = now or timezone.now()
    reminder = _claim(appointment, now=now)
    if reminder is None:
        return None
    patient, clinic = appointment.patient, appointment.clinic
    if not _sms_allowed(patient):
        reminder.state, reminder.error = Reminder.State.FAILED, "no phone or no SMS consent"
        reminder.save(update_fields=["state", "error"])
        return reminder
    with translation.override(clinic.locale):
        body = _("%(clinic)s: reminder of your appointment on %(when)s with %(professional)s. "
                 "Reply YES to confirm or NO to cancel.") % {
            "clinic": clinic.name, "when": date_format(_local(clinic, appointment.starts_at), "SHORT_DATETIME_FORMAT"),
            "professional": appointment.professional.name}
    try:
        message = _send(clinic, patient.phone, body, purpose=reminder.message_purpose)
    except MessageDeliveryFailed as exc:
        reminder.state, reminder.error, reminder.message_id = (Reminder.State.FAILED, exc.reason[:1000],
                                                               exc.message_row.id)
        reminder.save(update_fields=["state", "error", "message_id"])
        return reminder
    except DomainError as exc:
        reminder.state, reminder.error = Reminder.State.FAILED, exc.message[:1000]
        reminder.save(update_fields=["state", "error"])
        return reminder
    # Only a claim still "sending" becomes "sent" (this reminder's own row, claimed above).
    with transaction.atomic():
        Reminder.objects.filter(pk=reminder.pk, state=Reminder.State.SENDING).update(
            state=Reminder.State.SENT, message_id=message.id, sent_at=now)
    return reminder


def reminders_send_due(*, now=None) -> int:
    """The beat job: send every reminder that is due now; returns how many were sent. Safe to run twice."""
    now = now or timezone.now()
    sent = 0
    for appointment in selectors.appointments_needing_reminder(now):
        if not reminder_due(appointment, now):
            continue
        try:
            if reminder_send(appointment=appointment, now=now) is not None:
                sent += 1
        except DatabaseError:
            # The claim stands: this reminder is not retried (at most once), the next appointments still go.
            logger.exception("Reminder bookkeeping failed for appointment %s", appointment.id)
    reminders_reconcile_interrupted(now=now)
    return sent


def reminders_reconcile_interrupted(*, now=None) -> int:
    """Settle claims a crash left "sending": "sent" when the outbox holds their message, else "unknown".

    Never sends: a patient who got the SMS must not get it twice.
    """
    now = now or timezone.now()
    # The beat job settles every clinic's interrupted claims.
    stale = list(Reminder.objects.filter(state=Reminder.State.SENDING, claimed_at__lt=now - CLAIM_RECONCILE_AFTER))
    if not stale:
        return 0
    # Purposes name the reminder's own id, so this lookup across clinics finds only each reminder's message.
    messages = {message.purpose: message for message in Message.objects.filter(
        purpose__in=[reminder.message_purpose for reminder in stale])}
    for reminder in stale:
        message = messages.get(reminder.message_purpose)
        if message is not None and message.status != Message.Status.FAILED:
            Reminder.objects.filter(pk=reminder.pk, state=Reminder.State.SENDING).update(
                state=Reminder.State.SENT, message_id=message.id, sent_at=message.sent_at or message.created_at)
        else:
            Reminder.objects.filter(pk=reminder.pk, state=Reminder.State.SENDING).update(
                state=Reminder.State.UNKNOWN, message_id=message.id if message else None)
    return len(stale)


CONFIRM_WORDS = frozenset({"sim", "s", "yes", "y", "1", "ok", "confirmo", "confirmar", "confirm", "oui"})
CANCEL_WORDS = frozenset({"nao", "n", "no", "2", "cancelar", "cancelo", "cancel", "non", "annuler"})


@dataclass
class ReplyOutcome:
    action: str  # "confirmed" or "cancelled"
    appointment: Appointment


def reminder_reply_handle(*, clinic, from_phone: str, body: str, now=None) -> ReplyOutcome | None:
    """Apply a patient's answer to a reminder: SIM/YES/1 confirms, NAO/NO/2/CANCELAR cancels.

    The appointment is the patient's next active one that was reminded; None when the text is not an answer
    or no reminded appointment is ahead (the message is then just an inbound message for the staff).
    """
    now = now or timezone.now()
    words = normalise_text(body).replace(",", " ").replace(".", " ").split()
    if not words or clinic is None:
        return None
    word = words[0]
    action = "confirmed" if word in CONFIRM_WORDS else "cancelled" if word in CANCEL_WORDS else None
    if action is None:
        return None
    try:
        e164 = normalise_patient_phone(clinic, from_phone)
    except InvalidPhoneNumber:
        return None
    reminder = (Reminder.objects.for_clinic(clinic).select_related("appointment__clinic", "appointment__patient")
                .filter(state=Reminder.State.SENT,
                        appointment__patient__phone_index=blind_index(e164, "phone"),
                        appointment__status__in=ACTIVE_STATUSES, appointment__starts_at__gt=now)
                .order_by("appointment__starts_at").first())
    if reminder is None:
        return None
    appointment = reminder.appointment
    target = Appointment.Status.CONFIRMED if action == "confirmed" else Appointment.Status.CANCELLED
    with transaction.atomic():
        appointment_update(appointment=appointment, status=target, actor=None)
        reminder.reply = action
        reminder.save(update_fields=["reply"])
        _audit(None, f"appointment.{action}_by_sms", "appointment", appointment.id, "reminder reply", clinic=clinic,
               actor_kind="public")
    return ReplyOutcome(action, appointment)


# --- tasks --------------------------------------------------------------------------------------------------------

def task_create(*, clinic, title: str, description: str = "", contact: str = "", due_at=None, assignee: str = "",
                status=Task.Status.OPEN, actor=None) -> Task:
    """A follow-up for a member or for the phone agent (docs/api/voice.md, Tasks), as every edge gives it:
    `contact` a patient hash of the clinic, `assignee` a member id of the clinic or "phone_agent" (empty: none).
    Both are looked up here, through the clinic, once for every edge. Audited. Raises InvalidInput (on
    `contactId` / `assignee`) for an unknown reference or another clinic's patient or member."""
    patient = member = None
    if contact:
        patient = Patient.objects.for_clinic(clinic).filter(hash=str(contact).strip()).first()
        if patient is None:
            raise InvalidInput.on("contactId", _("No such contact."))
    phone_agent = assignee == Task.PHONE_AGENT
    if assignee and not phone_agent:
        try:
            member_id = uuid.UUID(str(assignee).strip())
        except ValueError:
            member_id = None
        member = Membership.objects.for_clinic(clinic).filter(pk=member_id).first() if member_id else None
        if member is None:
            raise InvalidInput.on("assignee", _("Choose a member of this clinic or the phone agent."))
    if status not in Task.Status.values:
        raise InvalidInput.on("status", _("Unknown status."))
    with transaction.atomic():
        task = Task.objects.create(
            clinic=clinic, title=title, description=description or "", patient=patient, due_at=due_at,
            assignee=member, assigned_to_phone_agent=phone_agent, status=status,
            completed_at=timezone.now() if status != Task.Status.OPEN else None)
        _audit(actor, "task.created", "task", task.id, clinic=clinic)
    return task


def task_list_record(*, clinic, tasks, actor, purpose: str = "") -> None:
    """Audit a read of tasks' texts (titles and descriptions may name a patient or their health): one row
    naming every task shown, for a page or an API answer (docs/api/voice.md, Tasks). Nothing shown, no row."""
    if tasks:
        _audit(actor, "task.list", "task", tasks[0].pk if len(tasks) == 1 else "", purpose, clinic=clinic,
               ids=[str(task.pk) for task in tasks])


def task_status_set(*, clinic, task: Task, status: str, actor=None) -> Task:
    """Close (done / cancelled) or reopen one of the clinic's tasks. Audited."""
    if not task.belongs_to(clinic):
        raise NotFound(None, _("Task not found."))
    if status not in Task.Status.values:
        raise InvalidInput.on("status", _("Unknown status."))
    with transaction.atomic():
        task.status = status
        task.completed_at = timezone.now() if status != Task.Status.OPEN else None
        task.save(update_fields=["status", "completed_at"])
        _audit(actor, "task.status", "task", task.id, clinic=clinic, status=status)
    return task


# --- RGPD ---------------------------------------------------------------------------------------------------------

def engagement_erase(*, patient) -> None:
    """Wipe what engagement holds about an erased patient: triage answers, feedback comments, task texts.

    Scores stay (anonymous once the patient is erased): they are the clinic's NPS history.
    """
    TriageResponse.objects.for_clinic(patient.clinic_id).filter(appointment__patient=patient).update(answers_json="")
    FeedbackResponse.objects.for_clinic(patient.clinic_id).filter(appointment__patient=patient).update(comment="")
    Task.objects.for_clinic(patient.clinic_id).filter(patient=patient).update(
        title=_("Follow-up of an erased patient"), description="")


def questionnaire_save(*, clinic, service, questions, title: str = "", actor=None):
    """Create or replace the triage questions of a service (or the clinic default when `service` is None).

    An empty list for a service removes its own questions: it falls back to the clinic default. Raises
    InvalidInput naming the bad question (selectors.clean_questions), NotFound for another clinic's service.
    """
    if service is not None and service.clinic_id != clinic.pk:
        raise NotFound(None, _("Service not found."))
    if service is not None and not questions:
        with transaction.atomic():
            TriageQuestionnaire.objects.for_clinic(clinic).filter(service=service).delete()
            _audit(actor, "triage.questions_removed", "service", service.id, clinic=clinic)
        return None
    cleaned = selectors.clean_questions(questions)
    with transaction.atomic():
        questionnaire, _created = TriageQuestionnaire.objects.update_or_create(
            clinic=clinic, service=service, defaults={"questions": cleaned, "title": (title or "")[:200]})
        _audit(actor, "triage.questions_saved", "triage_questionnaire", questionnaire.id, clinic=clinic)
    return questionnaire
