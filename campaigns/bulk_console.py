"""Console pages of bulk SMS campaigns: the list (filtered by the same FilterSet as GET /api/v1/campaigns), a
compose-then-confirm form, the audience count that follows the filters, a campaign's counts, cancel.

The form calls the same services as POST /v1/campaigns/preview and /v1/campaigns (`bulk.campaign_preview`,
`bulk.campaign_send`). Sending is a second step: the preview answers with a confirmation that names the number of
patients ("Send to 3 patients?") and, inside the clinic's quiet hours, when sending will start; the confirmation
posts that number back, and a number that no longer matches the audience asks again instead of sending. Sending
is queued to the Celery task, never done in the request.
"""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from clinics.errors import DomainError
from clinics.models import Membership
from clinics.views import console_page
from scheduling.models import Professional, Service
from scheduling.selectors import clinic_zone

from . import bulk
from .filters import CampaignFilterSet
from .forms import AudienceForm, CampaignForm
from .models import Campaign

STAFF = [Membership.Role.ADMIN, Membership.Role.EDITOR]
LIST_LIMIT = 100


def _form_errors(form) -> list[str]:
    return [f"{field}: {error}" if field != "__all__" else str(error)
            for field, errors in form.errors.items() for error in errors]


def _domain_errors(error: DomainError) -> list[str]:
    found = []
    for field, messages_ in (error.details or {}).items():
        if isinstance(messages_, dict):  # the audience's fields, nested as in the API
            found += [f"{name}: {message}" for name, inner in messages_.items() for message in inner]
        elif isinstance(messages_, list):
            found += [f"{field}: {message}" for message in messages_]
    return found or [error.message]


def audience_label(targets: int) -> str:
    return ngettext("%(count)s patient will receive it", "%(count)s patients will receive it",
                    targets) % {"count": targets}


def audience_detail(estimate: dict) -> str:
    excluded = estimate["excluded"]
    return _("%(matched)s matched; left out: %(no_phone)s without a phone, %(refused)s refused SMS, %(no_consent)s "
             "without marketing consent") % {
        "matched": estimate["matched"], "no_phone": excluded["noPhone"], "refused": excluded["smsRefused"],
        "no_consent": excluded["noMarketingConsent"]}


@console_page(write=True)
def campaign_list(request):
    """The clinic's campaigns, newest first, narrowed by `status`; staff compose one, preview it, then confirm."""
    clinic = request.clinic
    can_edit = request.membership.role in STAFF and request.auth.can("write")
    zone = clinic_zone(clinic)
    form = CampaignForm(request.POST if request.method == "POST" else None, zone=zone)
    step, estimate, audience, errors, changed = "compose", None, None, [], False
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    if request.method == "POST":
        action = request.POST.get("action")
        if not form.is_valid():
            errors = _form_errors(form)
        else:
            data = form.cleaned_data
            try:
                audience = bulk.audience_estimate(clinic=clinic, audience=form.audience())
                if action in ("preview", "send"):
                    estimate = bulk.campaign_preview(clinic=clinic, message=data["message"], audience=form.audience())
                    step = "confirm"
                if action == "send":
                    confirmed = data.get("confirmed_targets")
                    if confirmed is not None and confirmed == estimate["targets"] and confirmed > 0:
                        campaign = bulk.campaign_send(clinic=clinic, name=data["name"], message=data["message"],
                                                      audience=form.audience(), created_by=request.membership,
                                                      actor=request)
                        messages.success(request, _("Campaign created; sending has started.")
                                         if bulk.sending_starts_at(clinic) is None
                                         else _("Campaign created; it waits for the end of the quiet hours."))
                        return redirect("campaigns:bulk_detail", campaign_id=campaign.id)
                    # Never send to a number the member did not see: ask again with the audience as it is now.
                    changed = True
            except DomainError as error:
                errors, step = _domain_errors(error), "compose"
    elif can_edit:
        audience = bulk.audience_estimate(clinic=clinic, audience=bulk.Audience())
    filters = CampaignFilterSet(request.GET, queryset=bulk.campaigns_for(clinic))
    valid = filters.is_valid()  # the console ignores a status it does not know, as its own links never send one
    status = (filters.form.cleaned_data.get("status") or "") if valid else ""
    campaigns = (filters.qs if valid else bulk.campaigns_for(clinic)).order_by("-created_at", "-id")[:LIST_LIMIT]
    return render(request, "campaigns/bulk_list.html", {
        "campaigns": campaigns, "status": status, "statuses": Campaign.Status.choices,
        "can_edit": can_edit, "step": step, "estimate": estimate, "errors": errors, "changed": changed,
        "form": request.POST, "audience": audience,
        "audience_label": audience_label(audience["targets"]) if audience else "",
        "audience_detail": audience_detail(audience) if audience else "",
        "starts_at": bulk.sending_starts_at(clinic) if step == "confirm" else None, "zone": zone,
        "professionals": Professional.objects.for_clinic(clinic).order_by("name") if can_edit else [],
        "services": Service.objects.for_clinic(clinic).order_by("name") if can_edit else [],
    }, status=400 if errors else 200)


@require_GET
@console_page(roles=STAFF)
def campaign_audience(request):
    """JSON for the count that follows the filters: `{"matched", "targets", "excluded", "label", "detail"}`; a filter the
    campaign would refuse (another clinic's professional, a reversed period) answers 400 `{"errors": [...]}`."""
    form = AudienceForm(request.GET, zone=clinic_zone(request.clinic))
    if not form.is_valid():
        return JsonResponse({"errors": _form_errors(form)}, status=400)
    try:
        estimate = bulk.audience_estimate(clinic=request.clinic, audience=form.audience())
    except DomainError as error:
        return JsonResponse({"errors": _domain_errors(error)}, status=400)
    return JsonResponse({**estimate, "label": audience_label(estimate["targets"]),
                         "detail": audience_detail(estimate)})


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
