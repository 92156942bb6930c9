"""Console page "Integrations": the clinic's Google Calendar connection with Connect and Disconnect, and the page
Google redirects the browser back to. Admins only; each action calls the same service as the API."""
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.views import console_page
from clinics.errors import DomainError

from . import services
from .backends import CALENDAR
from .models import CalendarEventLink, LocalCalendarEvent

ADMIN = ("admin",)


@console_page(roles=ADMIN)
def integrations(request):
    """The connection state; with the offline backend, the events that would be in Google Calendar."""
    clinic = request.clinic
    connection = services.connection_of(clinic)
    offline = CALENDAR.choice == "local"
    return render(request, "calendar_sync/integrations.html", {
        "connection": connection, "offline": offline,
        "synced_count": CalendarEventLink.objects.for_clinic(clinic).exclude(event_id="").count(),
        "local_events": (LocalCalendarEvent.objects.filter(clinic=clinic, status=LocalCalendarEvent.Status.CONFIRMED)
                         .order_by("-starts_at")[:20] if offline and connection else []),
    })


@console_page(roles=ADMIN)
@require_POST
def connect(request):
    """Send the admin to Google's consent screen; the offline backend stands in for Google and comes straight
    back to the callback with a made-up code, as Google would."""
    try:
        authorization = services.start_authorization(request.clinic, request.membership)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("calendar_sync:integrations")
    if CALENDAR.choice == "local":
        return redirect(reverse("calendar_sync:google_callback") + "?" + urlencode(
            {"code": "local-consent", "state": authorization.state}))
    return redirect(authorization.auth_url)


@console_page(roles=ADMIN)
def google_callback(request):
    """Where Google sends the browser after consent (`?code&state`, or `?error` when the admin declined)."""
    code, state = request.GET.get("code", ""), request.GET.get("state", "")
    if request.GET.get("error") or not code or not state:
        messages.error(request, _("Google Calendar was not connected: the authorization was declined or is "
                                  "incomplete."))
        return redirect("calendar_sync:integrations")
    try:
        connection = services.complete_authorization(request.clinic, request.membership, code=code,
                                                     state=state, actor=request)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("calendar_sync:integrations")
    messages.success(request, _("Google Calendar connected%(account)s.") % {
        "account": f" ({connection.google_email})" if connection.google_email else ""})
    return redirect("calendar_sync:integrations")


@console_page(roles=ADMIN)
@require_POST
def disconnect(request):
    try:
        services.disconnect(request.clinic, actor=request)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Calendar disconnected successfully"))
    return redirect("calendar_sync:integrations")
