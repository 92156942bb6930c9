"""The console's triage page: the clinic's upcoming appointments with where their triage stands (not sent, sent and
waiting, expired, answered), the answers for those who may read health data, and the action the API offers
(`POST /v1/appointments/:id/triage/send`, docs/api/clinic-v1.md): text the patient the link, through the same
service. Viewers see initials and masked phones and no answers; every page that shows patients is audited."""
import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from clinics.errors import DomainError, NotFound
from clinics.models import Membership
from clinics.views import console_page
from scheduling import patients
from scheduling.selectors import clinic_zone, local_midnight

from . import services
from .triage_board import TriageState, triage_items

STAFF = [Membership.Role.ADMIN, Membership.Role.EDITOR]
PERIODS = (1, 7, 14, 31)
STATE_LABELS = {
    TriageState.NOT_SENT: gettext_lazy("Not sent"),
    TriageState.WAITING: gettext_lazy("Sent, waiting for answers"),
    TriageState.EXPIRED: gettext_lazy("Link expired unanswered"),
    TriageState.ANSWERED: gettext_lazy("Answered"),
}


def _filters(data, zone):
    """The page's period and state from the query string; anything unreadable falls back to the default."""
    today = timezone.now().astimezone(zone).date()
    try:
        first = parse_date((data.get("from") or "")[:10])
    except ValueError:
        first = None
    days = int(data["days"]) if str(data.get("days", "")).isdigit() and int(data["days"]) in PERIODS else 14
    state = data.get("state") if data.get("state") in TriageState.ALL else ""
    return {"from": first or today, "days": days, "state": state}


def _query(filters) -> str:
    return urlencode({"from": filters["from"].isoformat(), "days": filters["days"], "state": filters["state"]})


@require_GET
@console_page
def triage_list(request):
    clinic = request.clinic
    zone = clinic_zone(clinic)
    filters = _filters(request.GET, zone)
    start = local_midnight(filters["from"], zone)
    items = triage_items(clinic=clinic, start=start, end=start + dt.timedelta(days=filters["days"]),
                         state=filters["state"] or None)
    full = patients.can_read_pii(request.auth)
    can_send = request.membership.role in STAFF and request.auth.can("write")
    rows = [{
        "item": item, "when": item.appointment.starts_at.astimezone(zone),
        "name": item.appointment.patient.name if full else patients.mask_name(item.appointment.patient.name),
        "phone": item.appointment.patient.phone if full else patients.mask_phone(item.appointment.patient.phone),
        "state_label": STATE_LABELS[item.state],
        "answers": item.response.answers if full and item.response is not None else [],
        "can_send": can_send and item.can_send,
    } for item in items]
    if items:
        patients._audit(request, "patient.list", None, _("console triage page"), clinic=clinic,
                        hashes=[item.appointment.patient.hash for item in items], masked=not full,
                        appointment_ids=[str(item.appointment.pk) for item in items],
                        triage_answers=[str(item.response.pk) for item in items if full and item.response])
    return render(request, "campaigns/triage.html", {
        "rows": rows, "filters": filters, "query": _query(filters), "periods": PERIODS, "full": full,
        "states": list(STATE_LABELS.items()), "can_send": can_send})


@require_POST
@console_page(roles=STAFF, write=True)
def triage_send(request, appointment_id):
    """Text the patient the triage link of one appointment (`services.triage_link_send`); back to the page."""
    try:
        services.triage_link_send(clinic=request.clinic, appointment=appointment_id, actor=request)
    except NotFound:
        raise Http404
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Triage link sent."))
    filters = _filters(request.POST, clinic_zone(request.clinic))
    return redirect(f"{reverse('triage:list')}?{_query(filters)}")
