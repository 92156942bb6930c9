"""The patient's own link to an online booking: a calendar file (RFC 5545) and a page to cancel or reschedule it.

The link carries a token signed with `django.core.signing` (salt `BOOKING_MANAGE_SALT`) holding only the
appointment's id, never patient data; it expires after `BOOKING_MANAGE_MAX_AGE` seconds (default 90 days). The
token is the credential, scoped to the clinic of the URL: clinic A's token on clinic B's booking URL is 404.
A tampered token is 404, an expired one 410, each a friendly page.
"""
import datetime as dt

from django.conf import settings
from django.core import signing
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clinics.errors import DomainError
from clinics.models import Clinic
from scheduling import selectors, services
from scheduling.models import Appointment
from scheduling.patients import mask_name

BOOKING_MANAGE_SALT = "scheduling.public_manage.appointment"
CANCEL_REASON = "cancelled by patient"
RESCHEDULE_DAYS = 14


def _max_age() -> int:
    return int(getattr(settings, "BOOKING_MANAGE_MAX_AGE", 90 * 24 * 3600))


def manage_token(appointment) -> str:
    return signing.dumps({"a": str(appointment.pk)}, salt=BOOKING_MANAGE_SALT, compress=False)


def manage_path(appointment) -> str:
    return reverse("public-booking-manage", args=[appointment.clinic.slug, manage_token(appointment)])


def calendar_path(appointment) -> str:
    return reverse("public-booking-calendar", args=[appointment.clinic.slug, manage_token(appointment)])


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


def appointment_from_token(clinic, token: str) -> Appointment:
    try:
        payload = signing.loads(token, salt=BOOKING_MANAGE_SALT, max_age=_max_age())
    except signing.SignatureExpired:
        raise TokenExpired()
    except signing.BadSignature:
        raise TokenInvalid()
    appointment_id = payload.get("a") if isinstance(payload, dict) else None
    appointment = (Appointment.objects.for_clinic(clinic).select_related("clinic", "service", "professional",
                                                                          "patient")
                   .filter(pk=appointment_id).first()) if appointment_id else None
    if appointment is None:
        raise TokenInvalid()
    return appointment


# RFC 5545 -------------------------------------------------------------------------------------------------

def _ics_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 §3.3.11)."""
    return (value or "").replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n") \
        .replace("\n", "\\n")


def _ics_fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 character (RFC 5545 §3.1)."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts, current, limit = [], b"", 75
    for char in line:
        piece = char.encode("utf-8")
        if len(current) + len(piece) > limit:
            parts.append(current.decode("utf-8"))
            current, limit = b"", 74  # continuation lines start with one space
        current += piece
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def _ics_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def appointment_ics(appointment, *, manage_url: str = "", now=None) -> str:
    """One VEVENT for the appointment: UID, DTSTAMP, DTSTART/DTEND in UTC, SUMMARY, LOCATION; CRLF, folded."""
    clinic = appointment.clinic
    cancelled = appointment.status == Appointment.Status.CANCELLED
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Frontdesk//Booking//EN", "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:{appointment.pk}@frontdesk",
        f"DTSTAMP:{_ics_time(now or timezone.now())}",
        f"DTSTART:{_ics_time(appointment.starts_at)}",
        f"DTEND:{_ics_time(appointment.ends_at)}",
        f"SUMMARY:{_ics_text(f'{appointment.service.name} — {clinic.name}')}",
        f"LOCATION:{_ics_text(clinic.address or clinic.name)}",
        f"DESCRIPTION:{_ics_text(_('With %(name)s. Cancel or reschedule: %(url)s') % {'name': appointment.professional.name, 'url': manage_url})}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "END:VEVENT", "END:VCALENDAR",
    ]
    if manage_url:
        lines.insert(-2, f"URL:{manage_url}")
    return "".join(_ics_fold(line) + "\r\n" for line in lines)


# Views --------------------------------------------------------------------------------------------------------

def _token_problem(request, clinic_name, expired):
    status = 410 if expired else 404
    return render(request, "scheduling/public/manage_invalid.html",
                  {"status": status, "expired": expired, "clinic_name": clinic_name}, status=status)


def _resolve(request, slug, token):
    clinic = get_object_or_404(Clinic, slug=slug)
    try:
        return clinic, appointment_from_token(clinic, token), None
    except TokenExpired:
        return clinic, None, _token_problem(request, clinic.name, True)
    except TokenInvalid:
        return clinic, None, _token_problem(request, clinic.name, False)


def calendar_file(request, slug, token):
    clinic, appointment, problem = _resolve(request, slug, token)
    if problem:
        return problem
    body = appointment_ics(appointment, manage_url=request.build_absolute_uri(manage_path(appointment)))
    response = HttpResponse(body.encode("utf-8"), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="appointment.ics"'
    return response


def _reschedule_slots(appointment):
    clinic = appointment.clinic
    today = timezone.now().astimezone(selectors.clinic_zone(clinic)).date()
    slots = selectors.free_slots(clinic, appointment.service, today, today + dt.timedelta(days=RESCHEDULE_DAYS - 1),
                                 professional=appointment.professional)
    return [slot for slot in slots if slot.starts_at != appointment.starts_at]


@require_http_methods(["GET", "POST"])
def manage_page(request, slug, token):
    """GET: the appointment (patient name masked), a cancel button and the free times to move it to.
    POST `action=cancel` or `action=reschedule&startsAt=<ISO>`: through the scheduling services, audited."""
    clinic, appointment, problem = _resolve(request, slug, token)
    if problem:
        return problem
    message, error, status = "", "", 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "cancel":
                appointment = services.appointment_cancel(appointment=appointment, actor=request,
                                                          reason=CANCEL_REASON)
                message = _("Your appointment is cancelled. The time is free for someone else.")
            elif action == "reschedule":
                starts_at = _parse_instant(request.POST.get("startsAt", ""))
                if starts_at is None:
                    error, status = _("Choose a new time."), 400
                else:
                    appointment = services.appointment_reschedule(appointment=appointment, starts_at=starts_at,
                                                                  actor=request)
                    return redirect(manage_path(appointment) + "?moved=1")
            else:
                error, status = _("Unknown action."), 400
        except DomainError as exc:
            error, status = str(getattr(exc, "message", "") or exc), 409
    elif request.GET.get("moved"):
        message = _("Your appointment was moved.")
    active = appointment.status in (Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED)
    zone = selectors.clinic_zone(clinic)
    slots = [(slot, slot.starts_at.astimezone(zone)) for slot in (_reschedule_slots(appointment) if active else [])]
    days = sorted({local.date() for _slot, local in slots})
    chosen_day = _parse_day(request.GET.get("day", "")) or (days[0] if days else None)
    context = {
        "clinic": clinic, "appointment": appointment, "active": active,
        "patient_name": mask_name(appointment.patient.name),
        "starts_local": appointment.starts_at.astimezone(zone), "ends_local": appointment.ends_at.astimezone(zone),
        "days": days, "chosen_day": chosen_day,
        "slots": [{"value": slot.starts_at.isoformat(), "local": local} for slot, local in slots
                  if local.date() == chosen_day],
        "message": message, "error": error, "calendar_url": calendar_path(appointment),
        "token": token,
    }
    return render(request, "scheduling/public/manage.html", context, status=status)


def _parse_day(raw: str):
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        return None


def _parse_instant(raw: str):
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return value if value.tzinfo is not None else None
