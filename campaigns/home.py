"""What the console's home shows, registered with the kernel (`clinics.extensions.register_home_provider`):
today's appointments per professional, inbound calls waiting and callbacks to place, and the last 30 days of
bookings, calls and no-shows day by day beside the dashboard's figures (`selectors.dashboard_stats`).

Campaigns owns the dashboard figures and sits above scheduling and telephony, so it may read both; the home view
in clinics only asks the kernel's registry.
"""
import datetime as dt

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from scheduling import patients
from scheduling.models import Appointment
from scheduling.selectors import appointments_for, clinic_zone, local_midnight
from telephony.models import Call

from . import selectors

DAYS = 30
LISTED_CALLS = 20


def _daily(queryset, field, zone, days) -> list[int]:
    counts = dict(queryset.annotate(day=TruncDate(field, tzinfo=zone)).values("day").annotate(n=Count("id"))
                  .values_list("day", "n"))
    return [counts.get(day, 0) for day in days]


def activity_by_day(clinic, *, start_day: dt.date, days: int = DAYS) -> dict:
    """Bookings (by the day they were made), calls (by the day they came) and no-shows (by the day of the missed
    appointment), one count per day of the clinic's calendar from `start_day`, in three queries."""
    zone = clinic_zone(clinic)
    calendar = [start_day + dt.timedelta(days=offset) for offset in range(days)]
    start, end = local_midnight(calendar[0], zone), local_midnight(calendar[-1] + dt.timedelta(days=1), zone)
    appointments = Appointment.objects.for_clinic(clinic)
    return {
        "labels": [day.isoformat() for day in calendar],
        "bookings": _daily(appointments.filter(created_at__gte=start, created_at__lt=end), "created_at", zone,
                           calendar),
        "calls": _daily(Call.objects.for_clinic(clinic).filter(created_at__gte=start, created_at__lt=end),
                        "created_at", zone, calendar),
        "noShows": _daily(appointments.filter(starts_at__gte=start, starts_at__lt=end,
                                              status=Appointment.Status.NO_SHOW), "starts_at", zone, calendar),
    }


def _person(name, full):
    return name if full else patients.mask_name(name)


def _phone(phone, full):
    return phone if full else patients.mask_phone(phone)


def home_summary(clinic, *, now, full: bool) -> dict:
    """The clinic's day (in its time zone) and its last 30 days; names and phones masked unless `full`."""
    zone = clinic_zone(clinic)
    today = now.astimezone(zone).date()
    day_start, day_end = local_midnight(today, zone), local_midnight(today + dt.timedelta(days=1), zone)
    todays = (appointments_for(clinic, starts_from=day_start, starts_to=day_end)
              .exclude(status=Appointment.Status.CANCELLED)
              .select_related("professional", "service", "patient").order_by("professional__name", "starts_at"))
    by_professional = {}
    for appointment in todays:
        rows = by_professional.setdefault(appointment.professional_id, {
            "professional": appointment.professional, "appointments": []})
        rows["appointments"].append({
            "appointment": appointment, "patient": _person(appointment.patient.name, full),
            "starts": appointment.starts_at.astimezone(zone), "ends": appointment.ends_at.astimezone(zone),
            # Check-in and no-show are for appointments still expected; a finished one shows its outcome.
            "open": appointment.status in (Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED),
        })
    # Inbound calls still waiting and callbacks still to place, in one query.
    open_calls = list(Call.objects.for_clinic(clinic).filter(
        Q(direction=Call.Direction.INBOUND, status__in=[Call.Status.PENDING, Call.Status.IN_PROGRESS])
        | Q(direction=Call.Direction.OUTBOUND, status__in=[Call.Status.PENDING, Call.Status.SCHEDULED]))
        .order_by("created_at", "id")[:LISTED_CALLS * 4])
    waiting = [call for call in open_calls if call.direction == Call.Direction.INBOUND]
    callbacks = sorted((call for call in open_calls if call.direction == Call.Direction.OUTBOUND),
                       key=lambda call: (call.scheduled_at or call.created_at, str(call.id)))
    first_day = today - dt.timedelta(days=DAYS - 1)
    return {
        "today": today,
        "professionals": list(by_professional.values()),
        "waiting_calls": [{"call": call, "phone": _phone(call.phone_number, full),
                           "since": call.created_at.astimezone(zone)} for call in waiting[:LISTED_CALLS]],
        "callbacks": [{"call": call, "phone": _phone(call.phone_number, full),
                       "at": call.scheduled_at.astimezone(zone) if call.scheduled_at else None}
                      for call in callbacks[:LISTED_CALLS]],
        "activity": activity_by_day(clinic, start_day=first_day),
        "stats": selectors.dashboard_stats(clinic, local_midnight(first_day, zone), day_end),
    }
