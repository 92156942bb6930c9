"""Campaigns, tasks and patients' answers for support staff: read-only (campaigns start, send and cancel through
campaigns.bulk, which claims each recipient once and writes the audit log; tasks, triage answers and feedback change
through campaigns.services). A campaign's message is the clinic's template, not personal data; its recipients are
patients, a task says what to do about whom, triage answers and feedback comments are what patients wrote: their
admins are clinics/admin_pii.py's, masked for support viewers and audited, found by patient through the keyed
hashes (scheduling/admin_patient_rows.py)."""
from django.contrib import admin
from django.contrib.admin.utils import display_for_value
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from clinics.admin_pii import PiiAdmin, shown
from clinics.admin_scoping import ReadOnlyScopedAdmin
from clinics.masking import mask_name, mask_phone
from scheduling.admin_patient_rows import AboutPatient

from .models import Campaign, CampaignRecipient, FeedbackResponse, Task, TriageResponse


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyScopedAdmin):
    list_display = ("name", "clinic", "status", "estimated_segments", "estimated_cost", "currency", "created_at",
                    "started_at", "completed_at")
    list_filter = ("status",)
    list_select_related = ("clinic",)
    search_fields = ("name",)
    date_hierarchy = "created_at"
    fields = ("id", "clinic", "name", "message", "audience", "status", "estimated_segments", "estimated_cost",
              "currency", "created_by", "created_at", "started_at", "completed_at", "cancelled_at", "recipients")
    readonly_fields = fields

    @admin.display(description=_("recipients"))
    def recipients(self, campaign):
        url = reverse("admin:campaigns_campaignrecipient_changelist")
        return format_html('<a href="{}?campaign__id__exact={}">{}</a>', url, campaign.pk, _("List the recipients"))


@admin.register(CampaignRecipient)
class CampaignRecipientAdmin(PiiAdmin):
    """Who a campaign texts: the patient by hash, name and phone (masked for viewers); audited as reads of the
    patients."""

    audit_action = "campaign_recipient"
    audit_object_type = "patient"
    list_ids_key = "hashes"
    list_display = ("campaign", "patient_hash", "patient_name", "patient_phone", "status", "sent_at", "error")
    list_filter = ("status",)
    list_select_related = ("clinic", "campaign", "patient")
    search_fields = ("campaign__name", "patient__hash")
    fields = ("id", "clinic", "campaign", "patient", "patient_name", "patient_phone", "status", "message_id",
              "error", "created_at", "sent_at")

    def audit_id(self, obj):
        return obj.patient.hash

    def lookup_allowed(self, lookup, value, request=None):
        # The campaign page links here with its recipients (the rows are scoped, so the filter reveals nothing).
        return lookup == "campaign__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("patient"))
    def patient_hash(self, recipient):
        return recipient.patient.hash

    @admin.display(description=_("name"))
    def patient_name(self, recipient):
        return shown(recipient, recipient.patient.name, mask_name)

    @admin.display(description=_("phone"))
    def patient_phone(self, recipient):
        return shown(recipient, recipient.patient.phone, mask_phone)


@admin.register(Task)
class TaskAdmin(AboutPatient, PiiAdmin):
    """Staff tasks and callback requests: the title and description say what to do about whom, so the list (which
    shows titles) and every task page are audited; titles and descriptions are hidden for support viewers."""

    audit_action = audit_object_type = "task"
    list_ids_key = "task_ids"
    list_display = ("title_shown", "clinic", "patient_hash", "status", "due_at", "assignee_shown", "created_at",
                    "completed_at")
    list_filter = ("status", "assigned_to_phone_agent")
    list_select_related = ("clinic", "patient", "assignee__user", "assignee__clinic")
    date_hierarchy = "created_at"
    fields = ("id", "clinic", "title_shown", "description_shown", "patient_hash", "patient_name", "status", "due_at",
              "assignee_shown", "created_at", "completed_at")

    @admin.display(description=_("title"))
    def title_shown(self, task):
        return shown(task, task.title)

    @admin.display(description=_("description"))
    def description_shown(self, task):
        return shown(task, task.description)

    @admin.display(description=_("assignee"))
    def assignee_shown(self, task):
        if task.assigned_to_phone_agent:
            return _("the phone agent")
        return str(task.assignee) if task.assignee_id else ""


@admin.register(TriageResponse)
class TriageResponseAdmin(AboutPatient, PiiAdmin):
    """A patient's answers to a triage form (health data): hidden for support viewers; the list names the
    patients, so it is audited too."""

    audit_action = audit_object_type = "triage_response"
    patient_path = "appointment__patient"
    list_display = ("id", "clinic", "patient_hash", "appointment_starts_at", "professional", "submitted_at")
    list_select_related = ("clinic", "appointment__patient", "appointment__professional")
    list_filter = (("submitted_at", admin.DateFieldListFilter),)
    fields = ("id", "clinic", "patient_hash", "patient_name", "appointment_starts_at", "professional", "answers_shown",
              "submitted_at")

    @admin.display(description=_("appointment"))
    def appointment_starts_at(self, response):
        return display_for_value(response.appointment.starts_at, "")

    @admin.display(description=_("professional"))
    def professional(self, response):
        return response.appointment.professional

    @admin.display(description=_("answers"))
    def answers_shown(self, response):
        answers = format_html_join("", "<p><strong>{}</strong><br>{}</p>", (
            (answer.get("question", ""), answer.get("answer", "")) for answer in response.answers))
        return shown(response, answers)


@admin.register(FeedbackResponse)
class FeedbackResponseAdmin(AboutPatient, PiiAdmin):
    """A patient's 0-10 score and comment about one appointment: the comment is hidden for support viewers; the
    list names the patients, so it is audited too."""

    audit_action = audit_object_type = "feedback_response"
    patient_path = "appointment__patient"
    list_display = ("score", "clinic", "professional", "patient_hash", "has_comment", "submitted_at")
    list_select_related = ("clinic", "professional", "appointment__patient")
    list_filter = ("score",)
    date_hierarchy = "submitted_at"
    fields = ("id", "clinic", "score", "professional", "patient_hash", "patient_name", "appointment_starts_at",
              "comment_shown", "submitted_at")

    @admin.display(description=_("comment"), boolean=True)
    def has_comment(self, feedback):
        return bool(feedback.comment)

    @admin.display(description=_("appointment"))
    def appointment_starts_at(self, feedback):
        return display_for_value(feedback.appointment.starts_at, "")

    @admin.display(description=_("comment"))
    def comment_shown(self, feedback):
        return shown(feedback, feedback.comment)
