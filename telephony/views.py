"""Console pages of telephony."""
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from clinics.models import Membership

from . import selectors
from .models import Call


def active_clinic(request):
    """The clinic the member works in: the one chosen in the session, else their first membership."""
    memberships = Membership.objects.filter(user=request.user).select_related("clinic").order_by("clinic__name")
    chosen = request.session.get("clinic_id")
    membership = (memberships.filter(clinic_id=chosen).first() if chosen else None) or memberships.first()
    return membership.clinic if membership else None


@login_required
def outbox(request):
    """The active clinic's text messages, newest first, decrypted for the member who reads them."""
    clinic = active_clinic(request)
    messages = selectors.messages_for(clinic) if clinic else selectors.messages_for(None).none()
    page = Paginator(messages, 50).get_page(request.GET.get("page"))
    return render(request, "telephony/outbox.html", {"page": page, "clinic": clinic})


@login_required
def calls(request):
    """The active clinic's calls, newest first, optionally narrowed to one status."""
    clinic = active_clinic(request)
    status = request.GET.get("status") if request.GET.get("status") in Call.Status.values else None
    rows = (selectors.calls_for(clinic, status=status) if clinic else Call.objects.none()).order_by("-created_at", "-id")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "telephony/calls.html", {"page": page, "clinic": clinic, "status": status,
                                                    "statuses": Call.Status.choices})


@login_required
def call_detail(request, pk):
    """One call of the active clinic with its summary and transcript; another clinic's call is 404."""
    clinic = active_clinic(request)
    if clinic is None:
        raise Http404
    call = get_object_or_404(Call, pk=pk, clinic=clinic)
    return render(request, "telephony/call_detail.html", {"call": call, "clinic": clinic})
