"""Reads of the scheduling app: booking rules, availability and the slot engine.

Availability is computed in Python from a fixed handful of queries (professionals, working hours, exceptions,
appointments), so the cost in SQL does not depend on how many days, professionals or appointments are involved.
Weekly hours are wall-clock times in the clinic's zone; every instant is turned into an aware UTC datetime
before any arithmetic, which keeps days with a DST change correct.
"""
import datetime as dt
from bisect import bisect_left
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from .models import ACTIVE_STATUSES, Appointment, AvailabilityException, Professional, WorkingHours

UTC = dt.timezone.utc
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_RULES = {"min_notice_minutes": 60, "max_days_ahead": 90, "slot_step_minutes": 15}
# Bounds of the clinic's own rules, so that no setting pushes date arithmetic past what a datetime holds.
RULE_LIMITS = {"min_notice_minutes": 60 * 24 * 365, "max_days_ahead": 365 * 5, "slot_step_minutes": 60 * 24}
DEFAULT_OPENING_HOURS = {day: [["09:00", "18:00"]] for day in WEEKDAYS[:5]}


@dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime
    ends_at: dt.datetime
    professional_id: object


def booking_rules(clinic) -> dict:
    """The clinic's booking rules over the defaults (minimum notice, horizon, slot step)."""
    rules = dict(DEFAULT_RULES)
    for key, value in (clinic.booking_rules or {}).items():
        if key in DEFAULT_RULES and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            rules[key] = min(value, RULE_LIMITS[key])
    rules["slot_step_minutes"] = max(rules["slot_step_minutes"], 1)
    return rules


def opening_hours(clinic) -> dict:
    """The clinic's weekly opening hours, `{"mon": [["09:00", "18:00"]], ...}`; default Mon–Fri 09:00–18:00."""
    hours = (clinic.booking_rules or {}).get("opening_hours")
    return hours if isinstance(hours, dict) and hours else DEFAULT_OPENING_HOURS


def clinic_zone(clinic) -> ZoneInfo:
    return ZoneInfo(clinic.timezone or "UTC")


def local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(UTC)


def merge(intervals):
    """Sorted, non-overlapping union of (start, end) pairs."""
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(intervals, removals):
    """`intervals` minus `removals`; both sorted and merged."""
    result = []
    index = 0
    for start, end in intervals:
        while index < len(removals) and removals[index][1] <= start:
            index += 1
        cursor = start
        probe = index
        while probe < len(removals) and removals[probe][0] < end:
            cut_start, cut_end = removals[probe]
            if cut_start > cursor:
                result.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
            probe += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def _weekly_intervals(rows, first_day: dt.date, last_day: dt.date, zone: ZoneInfo):
    """Working-hours rows of one professional laid out on each local date, as UTC intervals."""
    by_weekday = {}
    for row in rows:
        by_weekday.setdefault(row.weekday, []).append(row)
    intervals = []
    day = first_day
    while day <= last_day:
        for row in by_weekday.get(day.weekday(), ()):
            # A wall time inside a spring-forward gap resolves with the earlier offset (fold=0), i.e. a little
            # later on the clock: no appointment can start at a time that does not exist.
            start = dt.datetime.combine(day, row.start, tzinfo=zone).astimezone(UTC)
            end = dt.datetime.combine(day, row.end, tzinfo=zone).astimezone(UTC)
            if start < end:
                intervals.append((start, end))
        day += dt.timedelta(days=1)
    return intervals


def availability(clinic, professional_ids, window_start, window_end):
    """Open time per professional in [window_start, window_end): working hours + extra hours − time off −
    closures. Returns `{professional_id: [(start, end), ...]}` (UTC, sorted, merged). Two queries."""
    zone = clinic_zone(clinic)
    first_day = window_start.astimezone(zone).date() - dt.timedelta(days=1)
    last_day = window_end.astimezone(zone).date() + dt.timedelta(days=1)
    rows_by_professional = {pid: [] for pid in professional_ids}
    for row in WorkingHours.objects.for_clinic(clinic).filter(professional_id__in=professional_ids):
        rows_by_professional[row.professional_id].append(row)

    # Clinic-wide closures are this clinic's only: another clinic's holiday never hides these slots.
    exceptions = AvailabilityException.objects.for_clinic(clinic).filter(
        Q(professional_id__in=professional_ids) | Q(professional__isnull=True),
        starts_at__lt=window_end, ends_at__gt=window_start,
    ).values_list("professional_id", "kind", "starts_at", "ends_at")
    extra = {pid: [] for pid in professional_ids}
    blocked = {pid: [] for pid in professional_ids}
    for professional_id, kind, starts_at, ends_at in exceptions:
        targets = professional_ids if professional_id is None else [professional_id]
        bucket = extra if kind == AvailabilityException.Kind.EXTRA_HOURS else blocked
        for target in targets:
            bucket[target].append((starts_at, ends_at))

    result = {}
    window = [(window_start, window_end)]
    for pid in professional_ids:
        open_time = merge(_weekly_intervals(rows_by_professional[pid], first_day, last_day, zone) + extra[pid])
        open_time = subtract(open_time, merge(blocked[pid]))
        result[pid] = _clip(open_time, window)
    return result


def _clip(intervals, window):
    (low, high), = window
    return [(max(start, low), min(end, high)) for start, end in intervals if end > low and start < high]


def busy_times(clinic, professional_ids, window_start, window_end, exclude_appointment_id=None):
    """Occupied ranges (buffers included) of active appointments, per professional, merged. One query."""
    queryset = Appointment.objects.for_clinic(clinic).filter(
        professional_id__in=professional_ids, status__in=ACTIVE_STATUSES,
        occupied__overlap=(window_start, window_end),
    )
    if exclude_appointment_id:
        queryset = queryset.exclude(pk=exclude_appointment_id)
    busy = {pid: [] for pid in professional_ids}
    for professional_id, occupied in queryset.values_list("professional_id", "occupied"):
        busy[professional_id].append((occupied.lower, occupied.upper))
    return {pid: merge(ranges) for pid, ranges in busy.items()}


def bookable_professionals(clinic, service, professional=None):
    """Active professionals of the clinic who perform `service` (optionally just `professional`). One query."""
    queryset = Professional.objects.for_clinic(clinic).filter(active=True, services=service)
    if professional is not None:
        queryset = queryset.filter(pk=professional.pk)
    return list(queryset.order_by("name", "id").values_list("id", flat=True))


def free_slots(clinic, service, from_date: dt.date, to_date: dt.date, professional=None, now=None):
    """Bookable start times for `service` between two local dates (inclusive), in start order.

    A slot is an appointment [start, start + duration) lying inside one open interval of the professional,
    whose range widened by the service's buffers overlaps no active appointment's occupied range; starts lie on
    the clinic's step grid counted from each open interval's start, at least `min_notice_minutes` from `now`
    and before `now + max_days_ahead`. Four queries whatever the size of the range.
    """
    rules = booking_rules(clinic)
    now = now or timezone.now()
    zone = clinic_zone(clinic)
    earliest = now + dt.timedelta(minutes=rules["min_notice_minutes"])
    latest = now + dt.timedelta(days=rules["max_days_ahead"])
    last_day = latest.astimezone(zone).date()
    if from_date > last_day:
        return []
    to_date = min(to_date, last_day)  # also keeps date arithmetic away from date.max
    # The open intervals are fetched from local midnight (not from `earliest`) so that the slot grid stays
    # anchored at each interval's start; notice is applied when walking the grid.
    window_start = local_midnight(from_date, zone)
    window_end = min(local_midnight(to_date + dt.timedelta(days=1), zone), latest + service_length(service))
    if max(window_start, earliest) >= window_end or not service.active:
        return []
    professional_ids = bookable_professionals(clinic, service, professional)
    if not professional_ids:
        return []
    open_times = availability(clinic, professional_ids, window_start, window_end)
    busy = busy_times(clinic, professional_ids, max(window_start, earliest) - _buffer_before(service),
                      window_end + _buffer_after(service))

    duration = dt.timedelta(minutes=service.duration_minutes)
    step = dt.timedelta(minutes=rules["slot_step_minutes"])
    before, after = _buffer_before(service), _buffer_after(service)
    slots = []
    for pid in professional_ids:
        taken = busy[pid]
        taken_starts = [start for start, _end in taken]
        for open_start, open_end in open_times[pid]:
            start = open_start
            if start < earliest:
                # Keep the grid anchored at the interval start while skipping what is too soon.
                start += step * -(-(earliest - start) // step)
            while start + duration <= open_end and start <= latest:
                if not _overlaps(taken, taken_starts, start - before, start + duration + after):
                    slots.append(Slot(start, start + duration, pid))
                start += step
    position = {pid: index for index, pid in enumerate(professional_ids)}
    slots.sort(key=lambda slot: (slot.starts_at, position[slot.professional_id]))
    return slots


def _overlaps(taken, taken_starts, start, end) -> bool:
    index = bisect_left(taken_starts, end) - 1
    return index >= 0 and taken[index][1] > start


def _buffer_before(service):
    return dt.timedelta(minutes=service.buffer_before_minutes)


def _buffer_after(service):
    return dt.timedelta(minutes=service.buffer_after_minutes)


def service_length(service):
    return dt.timedelta(minutes=service.duration_minutes)


def occupied_range(service, starts_at):
    """(starts_at, ends_at, occupied lower, occupied upper) of an appointment of `service` at `starts_at`."""
    ends_at = starts_at + service_length(service)
    return starts_at, ends_at, starts_at - _buffer_before(service), ends_at + _buffer_after(service)


def fits_availability(clinic, professional, service, starts_at) -> bool:
    """Whether [starts_at, starts_at + duration) lies inside one open interval of the professional. Two queries."""
    ends_at = starts_at + service_length(service)
    margin = dt.timedelta(days=1)
    open_time = availability(clinic, [professional.pk], starts_at - margin, ends_at + margin)
    return any(start <= starts_at and ends_at <= end for start, end in open_time[professional.pk])


def appointments_for(clinic, *, starts_from=None, starts_to=None, professional_id=None, status=None):
    """The clinic's appointments, optionally within [starts_from, starts_to) and by professional/status."""
    queryset = Appointment.objects.for_clinic(clinic)
    if starts_from is not None:
        queryset = queryset.filter(starts_at__gte=starts_from)
    if starts_to is not None:
        queryset = queryset.filter(starts_at__lt=starts_to)
    if professional_id is not None:
        queryset = queryset.filter(professional_id=professional_id)
    if status:
        queryset = queryset.filter(status__in=status if isinstance(status, (list, tuple)) else [status])
    return queryset


def weekly_schedule(professional_rows) -> dict:
    """WorkingHours rows as `{"mon": [["09:00", "13:00"], ...], ..., "sun": []}`."""
    schedule = {day: [] for day in WEEKDAYS}
    for row in sorted(professional_rows, key=lambda r: (r.weekday, r.start)):
        schedule[WEEKDAYS[row.weekday]].append([row.start.strftime("%H:%M"), row.end.strftime("%H:%M")])
    return schedule
