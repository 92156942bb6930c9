"""Console pages of bulk SMS campaigns: the list with a preview-then-send form, a campaign's counts, cancel.

The form goes through the same serializers and services as POST /v1/campaigns/preview and /v1/campaigns.
"""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.models import Membership
from clinics.views import console_page
from config.surfaces.errors import ApiError
from scheduling.models import Professional, Service

from . import bulk
from .api.bulk import CampaignCreateSerializer, PreviewRequestSerializer
from .models import Campaign

STAFF = [Membership.Role.ADMIN, Membership.Role.EDITOR]


def _moment(value: str):
    value = (value or "").strip()
    return f"{value}T00:00:00" if len(value) == 10 else (value or None)


def _payload(post) -> dict:
    """The form's fields in the API's shape (tags comma-separated, dates as days)."""
    audience = {
        "tags": [tag.strip() for tag in post.get("tags", "").split(",") if tag.strip()],
        "lastVisitBefore": _moment(post.get("last_visit_before")),
        "lastVisitAfter": _moment(post.get("last_visit_after")),
        "professionalId": post.get("professional") or None,
        "serviceId": post.get("service") or None,
        "hasFutureAppointment": {"yes": True, "no": False}.get(post.get("future", "")),
    }
    return {"name": post.get("name", "").strip(), "message": post.get("message", ""), "audience": audience}


def _errors(serializer) -> list[str]:
    found = []

    def walk(value, prefix=""):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, key)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, prefix)
        else:
            found.append(f"{prefix}: {value}" if prefix and prefix != "non_field_errors" else str(value))

    walk(serializer.errors)
    return found


@console_page
def campaign_list(request):
    """The clinic's campaigns, newest first; staff preview an audience, then send."""
    clinic = request.membership.clinic
    can_edit = request.membership.role in STAFF
    estimate, errors = None, []
    if request.method == "POST":
        if not can_edit:
            raise Http404
        data = _payload(request.POST)
        if request.POST.get("action") == "send":
            payload = CampaignCreateSerializer(data=data, context={"clinic": clinic})
            if payload.is_valid():
                fields = payload.validated_data
                campaign = bulk.create_campaign(clinic, name=fields["name"], message=fields["message"],
                                                audience=fields["audience"], created_by=request.membership,
                                                source=request)
                messages.success(request, _("Campaign created; sending has started."))
                return redirect("campaigns:bulk_detail", campaign_id=campaign.id)
        else:
            payload = PreviewRequestSerializer(data=data, context={"clinic": clinic})
            if payload.is_valid():
                estimate = bulk.preview(clinic, payload.validated_data["message"], payload.validated_data["audience"])
        errors = [] if payload.is_valid() else _errors(payload)
    return render(request, "campaigns/bulk_list.html", {
        "campaigns": bulk.campaigns_for(clinic).order_by("-created_at", "-id")[:100],
        "can_edit": can_edit, "estimate": estimate, "errors": errors, "form": request.POST,
        "professionals": Professional.objects.filter(clinic=clinic).order_by("name"),
        "services": Service.objects.filter(clinic=clinic).order_by("name"),
    }, status=400 if errors else 200)


def _campaign_or_404(request, campaign_id) -> Campaign:
    campaign = bulk.campaigns_for(request.membership.clinic).filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404
    return campaign


@console_page
def campaign_detail(request, campaign_id):
    """One campaign: its text, audience, status and how many were sent, failed, pending or cancelled."""
    campaign = _campaign_or_404(request, campaign_id)
    return render(request, "campaigns/bulk_detail.html", {
        "campaign": campaign, "counts": bulk.counts_of(campaign),
        "can_cancel": request.membership.role in STAFF and campaign.status in (
            Campaign.Status.DRAFT, Campaign.Status.SENDING),
    })


@console_page(roles=STAFF)
@require_POST
def campaign_cancel(request, campaign_id):
    """Stop sending: the recipients not yet texted are never texted."""
    campaign = _campaign_or_404(request, campaign_id)
    try:
        bulk.cancel_campaign(campaign, source=request)
    except ApiError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, _("Campaign cancelled."))
    return redirect("campaigns:bulk_detail", campaign_id=campaign.id)
