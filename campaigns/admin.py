"""SMS campaigns for support staff: read-only (campaigns start, send and cancel through campaigns.bulk, which claims
each recipient once and writes the audit log). A campaign's message is the clinic's template, not personal data;
its recipients are patients, so their admin is clinics/admin_pii.py's: masked for support viewers, audited."""
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from clinics.admin_pii import PiiAdmin, shown
from clinics.admin_scoping import ReadOnlyScopedAdmin
from clinics.masking import mask_name, mask_phone

from .models import Campaign, CampaignRecipient


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
