"""Console pages of bulk SMS campaigns: the list with a preview-then-send form, a campaign's counts, cancel.

The form calls the same services as POST /v1/campaigns/preview and /v1/campaigns (`bulk.campaign_preview`,
`bulk.campaign_send`); sending is queued to the Celery task, never done in the request.
"""
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.errors import DomainError
from clinics.models import Membership
from clinics.views import console_page
from scheduling.models import Professional, Service

from . import bulk
from .forms import CampaignForm
from .models import Campaign

STAFF = [Membership.Role.ADMIN, Membership.Role.EDITOR]


def _form_errors(form) -> list[str]:
    return [f"{field}: {error}" if field != "__all__" else str(error)
            for field, errors in form.errors.items() for error in errors]


def _domain_errors(error: DomainError) -> list[str]:
    found = [f"{field}: {message}" for field, messages_ in (error.details or {}).items()
             if isinstance(messages_, list) for message in messages_]
    return found or [error.message]


@console_page(write=True)
def campaign_list(request):
    """The clinic's campaigns, newest first; staff preview an audience, then send."""
    clinic = request.clinic
    can_edit = request.auth.can("write")
    estimate, errors = None, []
    if request.method == "POST":
        form = CampaignForm(request.POST, zone=ZoneInfo(clinic.timezone or "UTC"))
        if not form.is_valid():
            errors = _form_errors(form)
        else:
            data = form.cleaned_data
            try:
                if request.POST.get("action") == "send":
                    campaign = bulk.campaign_send(clinic=clinic, name=data["name"], message=data["message"],
                                                  audience=form.audience(), created_by=request.membership,
                                                  actor=request)
                    messages.success(request, _("Campaign created; sending has started."))
                    return redirect("campaigns:bulk_detail", campaign_id=campaign.id)
                estimate = bulk.campaign_preview(clinic=clinic, message=data["message"], audience=form.audience())
            except DomainError as error:
                errors = _domain_errors(error)
    return render(request, "campaigns/bulk_list.html", {
        "campaigns": bulk.campaigns_for(clinic).order_by("-created_at", "-id")[:100],
        "can_edit": can_edit, "estimate": estimate, "errors": errors, "form": request.POST,
        "professionals": Professional.objects.for_clinic(clinic).order_by("name"),
        "services": Service.objects.for_clinic(clinic).order_by("name"),
    }, status=400 if errors else 200)


def _campaign_or_404(request, campaign_id) -> Campaign:
    campaign = bulk.campaigns_for(request.clinic).filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404
    return campaign


@console_page
def campaign_detail(request, campaign_id):
    """One campaign: its text, audience, status and how many were sent, failed, pending or cancelled."""
    campaign = _campaign_or_404(request, campaign_id)
    return render(request, "campaigns/bulk_detail.html", {
        "campaign": campaign, "counts": bulk.counts_of(campaign), "waiting": bulk.campaign_waiting(campaign),
        "can_cancel": request.membership.role in STAFF and campaign.status in (
            Campaign.Status.DRAFT, Campaign.Status.SENDING),
    })


@require_POST
@console_page(roles=STAFF, write=True)
def campaign_cancel(request, campaign_id):
    """Stop sending: the recipients not yet texted are never texted."""
    campaign = _campaign_or_404(request, campaign_id)
    try:
        bulk.campaign_cancel(clinic=request.clinic, campaign=campaign, actor=request)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Campaign cancelled."))
    return redirect("campaigns:bulk_detail", campaign_id=campaign.id)
