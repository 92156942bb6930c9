"""Console pages of telephony."""
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from clinics.models import Membership

from . import selectors


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
