"""Patient engagement: triage questionnaires and answers, feedback (NPS), reminders, and staff follow-up tasks.

Links sent by SMS carry a random token; only its SHA-256 digest is stored, so a leaked table opens no form.
"""
import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.crypto import EncryptedTextField
from clinics.tenancy import ClinicOwned


class TriageQuestionnaire(ClinicOwned):
    """The triage questions of a clinic: one per service, and one default (no service) for the rest.

    `questions` is a list of `{"id", "label", "type": "text"|"yesno"|"choice"|"scale", "choices": [...],
    "required": bool}`.
    """

    class QuestionType(models.TextChoices):
        TEXT = "text", _("Free text")
        YES_NO = "yesno", _("Yes / no")
        CHOICE = "choice", _("One choice")
        SCALE = "scale", _("Scale 0–10")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="triage_questionnaires")
    service = models.ForeignKey("scheduling.Service", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="triage_questionnaires")
    title = models.CharField(max_length=200, blank=True, default="")
    questions = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "service"], condition=Q(service__isnull=False),
                                    name="triage_questionnaire_unique_service"),
            models.UniqueConstraint(fields=["clinic"], condition=Q(service__isnull=True),
                                    name="triage_questionnaire_unique_default"),
        ]

    def __str__(self):
        return self.title or f"triage {self.clinic_id} {self.service_id or 'default'}"


class PatientLink(ClinicOwned):
    """A single-use, expiring link sent to a patient about one appointment (a triage form or a feedback form)."""

    class Kind(models.TextChoices):
        TRIAGE = "triage", _("Triage")
        FEEDBACK = "feedback", _("Feedback")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="patient_links")
    appointment = models.ForeignKey("scheduling.Appointment", on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    message_id = models.UUIDField(null=True, blank=True, help_text=_("The telephony.Message that carried it."))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One feedback request per appointment: the scan that sends them may run twice.
            models.UniqueConstraint(fields=["appointment"], condition=Q(kind="feedback"),
                                    name="patient_link_one_feedback_per_appointment"),
        ]

    def __str__(self):
        return f"{self.kind} link {self.id}"

    @property
    def is_expired(self):
        return self.expires_at <= timezone.now()


class TriageResponse(ClinicOwned):
    """The answers a patient gave to a triage form; health data, so the answers are encrypted JSON."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="triage_responses")
    appointment = models.ForeignKey("scheduling.Appointment", on_delete=models.CASCADE,
                                    related_name="triage_responses")
    link = models.OneToOneField(PatientLink, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="triage_response")
    answers_json = EncryptedTextField(blank=True, default="")
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self):
        return f"triage answers {self.id}"

    @property
    def answers(self) -> list:
        import json

        return json.loads(self.answers_json) if self.answers_json else []


class FeedbackResponse(ClinicOwned):
    """A patient's 0–10 score (NPS) and comment about one appointment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="feedback_responses")
    appointment = models.OneToOneField("scheduling.Appointment", on_delete=models.CASCADE, related_name="feedback")
    professional = models.ForeignKey("scheduling.Professional", on_delete=models.CASCADE,
                                     related_name="feedback_responses")
    link = models.OneToOneField(PatientLink, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="feedback_response")
    score = models.PositiveSmallIntegerField()
    comment = EncryptedTextField(blank=True, default="")
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [models.CheckConstraint(condition=Q(score__gte=0, score__lte=10), name="feedback_score_0_10")]
        indexes = [models.Index(fields=["clinic", "submitted_at"], name="feedback_clinic_submitted")]

    def __str__(self):
        return f"feedback {self.score} for {self.appointment_id}"


class Reminder(ClinicOwned):
    """The claim that one reminder of one appointment is (being) sent: at most one row per appointment and kind.

    The row is inserted, in its own transaction, before the SMS leaves ("sending"); it is marked "sent" with the
    message id afterwards. A row left "sending" by a crash is never sent again: a reminder is at most once.
    """

    class State(models.TextChoices):
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown (interrupted)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="reminders")
    appointment = models.ForeignKey("scheduling.Appointment", on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, default="reminder")
    state = models.CharField(max_length=10, choices=State.choices, default=State.SENDING)
    message_id = models.UUIDField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    reply = models.CharField(max_length=20, blank=True, default="")
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-claimed_at"]
        constraints = [models.UniqueConstraint(fields=["appointment", "kind"], name="reminder_once_per_appointment")]

    def __str__(self):
        return f"{self.kind} {self.appointment_id} ({self.state})"

    @property
    def message_purpose(self) -> str:
        """The `purpose` of the telephony.Message that carries it: how an interrupted claim is reconciled."""
        return f"reminder:{self.id}"


class Task(ClinicOwned):
    """A follow-up for a staff member or for the phone agent: call this patient back, send results..."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    PHONE_AGENT = "phone_agent"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="tasks")
    # What to do about whom ("call Maria back about her test results"): personal data, encrypted at rest; the
    # edges keep the title within 200 characters.
    title = EncryptedTextField()
    description = EncryptedTextField(blank=True, default="")
    patient = models.ForeignKey("scheduling.Patient", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="tasks")
    due_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey("clinics.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="tasks")
    assigned_to_phone_agent = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "created_at"]
        constraints = [
            models.CheckConstraint(condition=~(Q(assignee__isnull=False) & Q(assigned_to_phone_agent=True)),
                                   name="task_one_assignee"),
        ]
        indexes = [models.Index(fields=["clinic", "status", "due_at"], name="task_clinic_status_due")]

    def __str__(self):
        # What admin titles, breadcrumbs and logs show: never the title, which names the patient.
        return f"task {self.id}"

    @property
    def assignee_value(self):
        if self.assigned_to_phone_agent:
            return self.PHONE_AGENT
        return str(self.assignee_id) if self.assignee_id else None


class Campaign(ClinicOwned):
    """A bulk SMS to the patients an audience filter matched, sent in batches by a Celery task.

    `audience` holds the filters as the API took them (tags, lastVisitBefore/After, professionalId, serviceId,
    hasFutureAppointment); the recipients are fixed when the campaign starts, one CampaignRecipient each.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENDING = "sending", _("Sending")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    message = models.TextField(help_text=_("The SMS text; {name} is the patient's first name, {clinic} the clinic's."))
    audience = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    estimated_segments = models.PositiveIntegerField(default=0)
    estimated_cost = models.PositiveIntegerField(default=0, help_text=_("Minor units of `currency`."))
    currency = models.CharField(max_length=3, default="EUR")
    created_by = models.ForeignKey("clinics.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="campaigns")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "created_at", "id"], name="campaign_clinic_created")]

    def __str__(self):
        return self.name


class CampaignRecipient(ClinicOwned):
    """One patient of one campaign: the claim that makes the campaign's SMS to that patient at most once.

    The unique (campaign, patient) pair means a restarted or duplicated send task finds the row and never texts
    the patient twice; a row is moved pending -> sending in its own transaction before the SMS leaves.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="campaign_recipients")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    patient = models.ForeignKey("scheduling.Patient", on_delete=models.CASCADE, related_name="campaign_recipients")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    message_id = models.UUIDField(null=True, blank=True, help_text=_("The telephony.Message that carried it."))
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "patient"], name="campaign_recipient_once_per_patient"),
        ]
        indexes = [models.Index(fields=["campaign", "status"], name="campaign_recipient_status")]

    def __str__(self):
        return f"{self.campaign_id} -> {self.patient_id} ({self.status})"

    @property
    def message_purpose(self) -> str:
        return f"campaign:{self.id}"
