"""Reads of the scheduling app: booking rules, availability and the slot engine.

Availability is computed in Python from two queries whatever the range: one reads the professionals with their
weekly hours and dated exceptions (aggregated per professional in PostgreSQL), the other the occupied time of
active appointments as epoch bounds (integer microseconds: parsing thousands of `tstzrange` values as text cost
far more than the SQL). Weekly hours are wall-clock times in the clinic's zone; every instant is turned into an
aware UTC datetime before any arithmetic, which keeps days with a DST change correct.
"""
import datetime as dt
from dataclasses import dataclass
from itertools import repeat
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import (BigIntegerField, DateTimeField, Exists, F, Func, JSONField, OuterRef, Q,
                              Subquery)
from django.utils import timezone

from .models import ACTIVE_STATUSES, Appointment, AvailabilityException, Professional, WorkingHours

UTC = dt.timezone.utc
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_RULES = {"min_notice_minutes": 60, "max_days_ahead": 90, "slot_step_minutes": 15}
# Bounds of the clinic's own rules, so that no setting pushes date arithmetic past what a datetime holds.
RULE_LIMITS = {"min_notice_minutes": 60 * 24 * 365, "max_days_ahead": 365 * 5, "slot_step_minutes": 60 * 24}
DEFAULT_OPENING_HOURS = {day: [["09:00", "18:00"]] for day in WEEKDAYS[:5]}


class Slot(NamedTuple):
    """A bookable time of one professional (a tuple: a month's search builds thousands of them)."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    professional_id: object


def booking_rules(clinic) -> dict:
    """The clinic's booking rules over the defaults (minimum notice, horizon, slot step)."""
    rules = dict(DEFAULT_RULES)
    for key, value in clinic.booking_rules.items():  # never null: JSONField(default=dict), not nullable
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
        if merged and start <= merged[-1][1]:  # touching intervals are one: an appointment may span both
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
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


EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = dt.timedelta(microseconds=1)
# Open time is read this far beyond the times asked about, so that an interval crossing midnight is seen whole.
MERGE_MARGIN = dt.timedelta(days=1)


def to_micros(moment: dt.datetime) -> int:
    """An aware datetime as integer microseconds since 1970 UTC (exact, unlike a float timestamp)."""
    return (moment - EPOCH) // MICROSECOND


def from_micros(value: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=value)


class EpochMicros(Func):
    """A timestamp as integer microseconds since 1970 UTC: an integer is read far faster than a timestamp or a
    range (EXTRACT gives an exact numeric)."""

    template = "(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint"
    output_field = BigIntegerField()


def _bound(field: str, which: str) -> EpochMicros:
    return EpochMicros(Func(F(field), function=which, output_field=DateTimeField()))


def _json_rows(queryset, *columns) -> Subquery:
    """The rows of `queryset` as one jsonb array of `[column, ...]` lists (NULL when there is none)."""
    row = Func(*columns, function="jsonb_build_array", output_field=JSONField())
    return Subquery(queryset.order_by().annotate(rows=Func(row, function="jsonb_agg", output_field=JSONField()))
                    .values("rows"), output_field=JSONField())


def _weekly_intervals(rows, first_day: dt.date, last_day: dt.date, zone: ZoneInfo, instants: dict):
    """Weekly (weekday, start, end) rows of one professional laid out on each local date, as UTC intervals.
    `instants` keeps each (date, wall time) already turned into UTC: professionals mostly share their hours."""
    by_weekday = {}
    for weekday, start, end in rows:
        by_weekday.setdefault(weekday, []).append((start, end))
    intervals = []
    day = first_day
    while day <= last_day:
        for start_time, end_time in by_weekday.get(day.weekday(), ()):
            # A wall time inside a spring-forward gap resolves with the earlier offset (fold=0), i.e. a little
            # later on the clock: no appointment can start at a time that does not exist.
            start, end = instants.get((day, start_time)), instants.get((day, end_time))
            if start is None:
                start = instants[day, start_time] = dt.datetime.combine(day, start_time, tzinfo=zone).astimezone(UTC)
            if end is None:
                end = instants[day, end_time] = dt.datetime.combine(day, end_time, tzinfo=zone).astimezone(UTC)
            if start < end:
                intervals.append((start, end))
        day += dt.timedelta(days=1)
    return intervals


def _open_times(weekly, exceptions, window_start, window_end, zone: ZoneInfo, instants: dict):
    """Open time of one professional in [window_start, window_end): `weekly` (weekday, start, end) rows on each
    local date + extra hours − time off − closures (`exceptions` as (kind, starts_at, ends_at)); UTC (start, end)
    pairs, sorted, merged. `instants`: see `_weekly_intervals`."""
    # A weekly row lies inside its local date, so the dates of the window's ends are all the days it can touch.
    first_day = window_start.astimezone(zone).date()
    last_day = window_end.astimezone(zone).date()
    extra, blocked = [], []
    for kind, starts_at, ends_at in exceptions:
        (extra if kind == AvailabilityException.Kind.EXTRA_HOURS else blocked).append((starts_at, ends_at))
    weekly = _weekly_intervals(weekly, first_day, last_day, zone, instants)
    open_time = merge(weekly + extra)
    return _clip(subtract(open_time, merge(blocked)), [(window_start, window_end)])


def bookable_professionals(clinic, service, professional=None):
    """Active professionals of the clinic who perform `service` (optionally just `professional`). One query."""
    if not service.active:
        return []
    queryset = Professional.objects.for_clinic(clinic).filter(active=True, services=service)
    if professional is not None:
        queryset = queryset.filter(pk=professional.pk)
    return list(queryset.order_by("name", "id").values_list("id", flat=True))


def availability(clinic, professional_ids, window_start, window_end):
    """Open time per professional in [window_start, window_end) (see `_open_times`), as
    `{professional_id: [(start, end), ...]}`. Two queries (weekly hours, exceptions)."""
    zone = clinic_zone(clinic)
    weekly = {pid: [] for pid in professional_ids}
    # Weekly hours are owned through their professional (no clinic column of their own): the ids are this
    # clinic's, so a join back to the professional's clinic would narrow nothing.
    for professional_id, *row in (WorkingHours.objects.filter(professional_id__in=professional_ids).order_by()
                                  .values_list("professional_id", "weekday", "start", "end")):
        weekly[professional_id].append(row)
    # Clinic-wide closures are this clinic's only: another clinic's holiday never hides these slots.
    exceptions = {pid: [] for pid in professional_ids}
    for professional_id, *row in AvailabilityException.objects.for_clinic(clinic).filter(
            Q(professional_id__in=professional_ids) | Q(professional__isnull=True),
            starts_at__lt=window_end, ends_at__gt=window_start,
    ).order_by().values_list("professional_id", "kind", "starts_at", "ends_at"):
        for target in professional_ids if professional_id is None else [professional_id]:
            exceptions[target].append(row)
    instants = {}
    return {pid: _open_times(weekly[pid], exceptions[pid], window_start, window_end, zone, instants)
            for pid in professional_ids}


@dataclass(frozen=True)
class Calendar:
    """A professional who performs a service, with their open time in a window (UTC (start, end) pairs, sorted,
    merged) and whether an active appointment occupies the range asked for (see `calendars`)."""

    professional: Professional
    open_times: list
    busy: bool = False


def calendars(clinic, service, window_start, window_end, *, professional=None, busy_between=None) -> list[Calendar]:
    """What `bookable_professionals` + `availability` give, as Professional instances with their open time, in
    one query (weekly hours and exceptions aggregated per professional in PostgreSQL). With
    `busy_between=(lower, upper)`, each also says whether an active appointment occupies part of that range."""
    if not service.active:
        return []
    queryset = Professional.objects.for_clinic(clinic).filter(active=True, services=service)
    if professional is not None:
        queryset = queryset.filter(pk=professional.pk)
    hours = WorkingHours.objects.filter(professional=OuterRef("pk"))  # owned through this clinic's professional
    exceptions = AvailabilityException.objects.for_clinic(clinic).filter(
        Q(professional=OuterRef("pk")) | Q(professional__isnull=True),
        starts_at__lt=window_end, ends_at__gt=window_start)
    queryset = queryset.annotate(
        weekly_rows=_json_rows(hours, F("weekday"), F("start"), F("end")),
        exception_rows=_json_rows(exceptions, F("kind"), EpochMicros(F("starts_at")), EpochMicros(F("ends_at"))))
    if busy_between is not None:
        # Every active appointment of this clinic's professional, as the no-overlap constraint sees them (it holds
        # per professional, whatever clinic a row names): never offer a time the database would refuse.
        taken = Appointment.objects.filter(
            professional=OuterRef("pk"), status__in=ACTIVE_STATUSES, occupied__overlap=busy_between)
        queryset = queryset.annotate(busy=Exists(taken))
    zone = clinic_zone(clinic)
    instants = {}
    result = []
    for row in queryset.order_by("name", "id"):
        weekly = [(weekday, dt.time.fromisoformat(start), dt.time.fromisoformat(end))
                  for weekday, start, end in row.weekly_rows or ()]
        exceptions = [(kind, from_micros(starts_at), from_micros(ends_at))
                      for kind, starts_at, ends_at in row.exception_rows or ()]
        result.append(Calendar(row, _open_times(weekly, exceptions, window_start, window_end, zone, instants),
                               bool(getattr(row, "busy", False))))
    return result


def _clip(intervals, window):
    (low, high), = window
    return [(max(start, low), min(end, high)) for start, end in intervals if end > low and start < high]


def busy_intervals(clinic, professional_ids, window_start, window_end) -> dict:
    """Occupied time (buffers included) of active appointments overlapping the window, per professional, as two
    lists of integer microseconds since 1970 UTC (see `to_micros`): `(starts, ends)`, in start order, NOT merged
    (ranges may touch or overlap). One query."""
    # One row per professional holding two bigint arrays, which the driver reads in C where a row per
    # appointment would cost Python conversions per value; sorted inside the aggregate (the model's default
    # ordering, on the rows, would be a sort of no use).
    in_order = F("occupied").asc()
    # The professionals are this clinic's; their appointments are read as the no-overlap constraint reads them
    # (per professional, whatever clinic a row names), so the search never offers a time the database refuses.
    rows = (Appointment.objects
            .filter(professional_id__in=professional_ids, status__in=ACTIVE_STATUSES,
                    occupied__overlap=(window_start, window_end))
            .order_by()
            .values("professional_id")
            .annotate(starts=ArrayAgg(_bound("occupied", "lower"), order_by=in_order),
                      ends=ArrayAgg(_bound("occupied", "upper"), order_by=in_order))
            .values_list("professional_id", "starts", "ends"))
    busy = {pid: ([], []) for pid in professional_ids}
    for professional_id, starts, ends in rows:
        busy[professional_id] = (starts, ends)
    return busy


def free_slots(clinic, service, from_date: dt.date, to_date: dt.date, professional=None, now=None):
    """Bookable start times for `service` between two local dates (inclusive), in start order.

    A slot is an appointment [start, start + duration) lying inside one open interval of the professional,
    whose range widened by the service's buffers overlaps no active appointment's occupied range; starts lie on
    the clinic's step grid counted from each open interval's start, at least `min_notice_minutes` from `now`
    and at most `max_days_ahead` after it. A start late on a date may end after midnight, and an interval crossing
    midnight keeps its grid whatever dates are asked. Four queries whatever the size of the range (`bookable_professionals`,
    `availability`, `busy_intervals`).
    """
    rules = booking_rules(clinic)
    now = now or timezone.now()
    zone = clinic_zone(clinic)
    earliest = now + dt.timedelta(minutes=rules["min_notice_minutes"])
    latest = now + dt.timedelta(days=rules["max_days_ahead"])
    to_date = min(to_date, latest.astimezone(zone).date())  # also keeps date arithmetic away from date.max
    # Starts lie in [first_start, last_start]: on the dates asked, after the notice, up to the horizon.
    first_start = max(local_midnight(from_date, zone), earliest)
    last_start = min(local_midnight(to_date + dt.timedelta(days=1), zone) - MICROSECOND, latest)
    if first_start > last_start:
        return []
    professional_ids = bookable_professionals(clinic, service, professional)  # none for an inactive service
    if not professional_ids:
        return []
    # Open time is read from a day before the first start, as `booking_check` reads it, so that the grid of an
    # interval crossing midnight still counts from its start; and up to the end of the last start's appointment.
    last_end = last_start + service_length(service)
    open_times = availability(clinic, professional_ids, first_start - MERGE_MARGIN, last_end)
    busy = busy_intervals(clinic, professional_ids, first_start - _buffer_before(service),
                          last_end + _buffer_after(service))

    # The grid is walked in integer microseconds (exact), one run of free starts at a time: no datetime is built,
    # and no start is tested, between two occupied ranges.
    duration = service_length(service) // MICROSECOND
    step = dt.timedelta(minutes=rules["slot_step_minutes"]) // MICROSECOND
    before, after = _buffer_before(service) // MICROSECOND, _buffer_after(service) // MICROSECOND
    first_start, last_start = to_micros(first_start), to_micros(last_start)
    starts = []
    for position, pid in enumerate(professional_ids):
        # An occupied range (lower, upper) refuses the starts s with lower - duration - after < s < upper + before
        # (the new appointment, widened by its buffers, would overlap it). In order of their start, ranges that
        # overlap need no merging: a start is refused by the first range not yet behind it, or by none.
        lowers, uppers = busy[pid]
        refused_from = [lower - duration - after for lower in lowers]
        refused_to = [upper + before for upper in uppers]
        index, count = 0, len(refused_from)
        for open_start, open_end in open_times[pid]:
            anchor = to_micros(open_start)  # the grid of this interval counts from its start
            start = anchor + step * -(-max(first_start - anchor, 0) // step)  # its first start from `first_start`
            last = min(to_micros(open_end) - duration, last_start)
            while start <= last:
                while index < count and refused_to[index] <= start:
                    index += 1
                limit = last
                if index < count:
                    if refused_from[index] < start:
                        # Inside a refused range: go to its first grid start at or after its end.
                        start = anchor + step * -(-(refused_to[index] - anchor) // step)
                        continue
                    limit = min(last, refused_from[index])
                if limit - start < step:  # a run of one start: the usual case in a busy agenda
                    starts.append((start, position))
                    start += step
                else:
                    run = (limit - start) // step + 1
                    starts.extend(zip(range(start, start + run * step, step), repeat(position)))
                    start += run * step
    starts.sort()
    # Professionals free at one time share its datetimes, and one slot's end is often another's start.
    moments = {}
    for start, _position in starts:
        for value in (start, start + duration):
            if value not in moments:
                moments[value] = from_micros(value)
    return [Slot(moments[start], moments[start + duration], professional_ids[position])
            for start, position in starts]


@dataclass(frozen=True)
class BookingCheck:
    """Who could take one appointment: `offering` perform the service, `working` (of them) are open for the whole
    appointment, `free` (of those) have no active appointment in its occupied range, buffers included."""

    offering: list
    working: list
    free: list


def booking_check(clinic, service, starts_at, *, professional=None, length=None) -> BookingCheck:
    """Whether `service` can be booked at `starts_at` (for `length`, by default the service's duration), and with
    whom (Professional instances, in name order), judged on the same open time the slot search walks
    (`calendars`). One query."""
    starts_at, ends_at, lower, upper = occupied_range(service, starts_at, length)
    found = calendars(clinic, service, starts_at - MERGE_MARGIN, ends_at + MERGE_MARGIN, professional=professional,
                      busy_between=(lower, upper))
    working = [calendar for calendar in found
               if any(start <= starts_at and ends_at <= end for start, end in calendar.open_times)]
    return BookingCheck(offering=[calendar.professional for calendar in found],
                        working=[calendar.professional for calendar in working],
                        free=[calendar.professional for calendar in working if not calendar.busy])


def _buffer_before(service):
    return dt.timedelta(minutes=service.buffer_before_minutes)


def _buffer_after(service):
    return dt.timedelta(minutes=service.buffer_after_minutes)


def service_length(service):
    return dt.timedelta(minutes=service.duration_minutes)


def occupied_range(service, starts_at, length=None):
    """(starts_at, ends_at, occupied lower, occupied upper) of an appointment of `service` at `starts_at` lasting
    `length` (a timedelta; by default the service's duration), in UTC; the service's buffers frame it.

    Arithmetic on a datetime in the clinic's zone is wall-clock arithmetic: 01:45 + 30 minutes on the night the
    clocks go back would be 02:15 on the clock, 90 minutes later. In UTC a duration is a duration."""
    starts_at = starts_at.astimezone(UTC)
    ends_at = starts_at + (service_length(service) if length is None else length)
    return starts_at, ends_at, starts_at - _buffer_before(service), ends_at + _buffer_after(service)


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
