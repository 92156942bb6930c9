"""Time and SQL query count of a 30-day slot search over 10 professionals, with 10,000 and 100,000 appointments:
the slot engine (`scheduling.selectors.free_slots`) side by side with the previous algorithm, kept below as the
reference (`reference_free_slots`).

    .venv/bin/python bench/slots.py [--runs 7]

Works in a throwaway database (created with the migrations, dropped at the end). Appointments fill every other
half hour of Mon–Fri 09:00–18:00 from 60 days ago onwards, so the searched month is equally busy in both rounds:
what changes is only how many rows the tables hold. Both searches must return the same slots; the engine is run
alternately with the reference, so that a machine shared with other work slows both alike. Targets: at most
12 ms and 4 queries, and 100k/10k <= 1.1. The table is ANALYZEd after each fill, as autovacuum keeps a live one.

Last run (5 December 2026, 19:10 UTC, 2 cores, load 1.0): 6.5 ms at 10k and 6.6 ms at 100k, 4 queries each,
100k/10k x1.02 (the previous algorithm: 23.3 ms). Without the ANALYZE the 100k round planned on the 10k round's
statistics and gave 9.4 ms (x1.45).
"""
import argparse
import datetime as dt
import os
import statistics
import sys
import time
from bisect import bisect_left
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
os.environ["TEST_DATABASE_NAME"] = "bench_fd_slots"
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")

import django  # noqa: E402

django.setup()

from zoneinfo import ZoneInfo  # noqa: E402

from django.db import connection  # noqa: E402
from django.db.models import Q  # noqa: E402
from django.utils import timezone  # noqa: E402

from scheduling import selectors  # noqa: E402
from scheduling.models import (ACTIVE_STATUSES, Appointment, AvailabilityException, Professional,  # noqa: E402
                               WorkingHours)

PROFESSIONALS = 10
SERVICE_MINUTES = 30
TARGET_MS = 12
TARGET_QUERIES = 4
TARGET_GROWTH = 1.1


# --- the previous algorithm (commit 15a645f), the reference ----------------------------------------------------
# It read each appointment's occupied `tstzrange` (parsed as text by the driver, ~1,900 of them here) in the
# model's default order, and walked the grid in datetimes.

def _reference_weekly_intervals(rows, first_day, last_day, zone):
    by_weekday = {}
    for row in rows:
        by_weekday.setdefault(row.weekday, []).append(row)
    intervals = []
    day = first_day
    while day <= last_day:
        for row in by_weekday.get(day.weekday(), ()):
            start = dt.datetime.combine(day, row.start, tzinfo=zone).astimezone(dt.timezone.utc)
            end = dt.datetime.combine(day, row.end, tzinfo=zone).astimezone(dt.timezone.utc)
            if start < end:
                intervals.append((start, end))
        day += dt.timedelta(days=1)
    return intervals


def _reference_availability(clinic, professional_ids, window_start, window_end):
    zone = selectors.clinic_zone(clinic)
    first_day = window_start.astimezone(zone).date() - dt.timedelta(days=1)
    last_day = window_end.astimezone(zone).date() + dt.timedelta(days=1)
    rows_by_professional = {pid: [] for pid in professional_ids}
    for row in WorkingHours.objects.for_clinic(clinic).filter(professional_id__in=professional_ids):
        rows_by_professional[row.professional_id].append(row)
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
    for pid in professional_ids:
        open_time = selectors.merge(
            _reference_weekly_intervals(rows_by_professional[pid], first_day, last_day, zone) + extra[pid])
        open_time = selectors.subtract(open_time, selectors.merge(blocked[pid]))
        result[pid] = selectors._clip(open_time, [(window_start, window_end)])
    return result


def _reference_busy_times(clinic, professional_ids, window_start, window_end):
    queryset = Appointment.objects.for_clinic(clinic).filter(
        professional_id__in=professional_ids, status__in=ACTIVE_STATUSES,
        occupied__overlap=(window_start, window_end))
    busy = {pid: [] for pid in professional_ids}
    for professional_id, occupied in queryset.values_list("professional_id", "occupied"):
        busy[professional_id].append((occupied.lower, occupied.upper))
    return {pid: selectors.merge(ranges) for pid, ranges in busy.items()}


def reference_free_slots(clinic, service, from_date, to_date, professional=None, now=None):
    rules = selectors.booking_rules(clinic)
    now = now or timezone.now()
    zone = selectors.clinic_zone(clinic)
    earliest = now + dt.timedelta(minutes=rules["min_notice_minutes"])
    latest = now + dt.timedelta(days=rules["max_days_ahead"])
    last_day = latest.astimezone(zone).date()
    if from_date > last_day:
        return []
    to_date = min(to_date, last_day)
    window_start = selectors.local_midnight(from_date, zone)
    window_end = min(selectors.local_midnight(to_date + dt.timedelta(days=1), zone),
                     latest + selectors.service_length(service))
    if max(window_start, earliest) >= window_end or not service.active:
        return []
    queryset = Professional.objects.for_clinic(clinic).filter(active=True, services=service)
    if professional is not None:
        queryset = queryset.filter(pk=professional.pk)
    professional_ids = list(queryset.order_by("name", "id").values_list("id", flat=True))
    if not professional_ids:
        return []
    before = dt.timedelta(minutes=service.buffer_before_minutes)
    after = dt.timedelta(minutes=service.buffer_after_minutes)
    open_times = _reference_availability(clinic, professional_ids, window_start, window_end)
    busy = _reference_busy_times(clinic, professional_ids, max(window_start, earliest) - before,
                                 window_end + after)
    duration = dt.timedelta(minutes=service.duration_minutes)
    step = dt.timedelta(minutes=rules["slot_step_minutes"])
    slots = []
    for pid in professional_ids:
        taken = busy[pid]
        taken_starts = [start for start, _end in taken]
        for open_start, open_end in open_times[pid]:
            start = open_start
            if start < earliest:
                start += step * -(-(earliest - start) // step)
            while start + duration <= open_end and start <= latest:
                index = bisect_left(taken_starts, start + duration + after) - 1
                if not (index >= 0 and taken[index][1] > start - before):
                    slots.append(selectors.Slot(start, start + duration, pid))
                start += step
    position = {pid: index for index, pid in enumerate(professional_ids)}
    slots.sort(key=lambda slot: (slot.starts_at, position[slot.professional_id]))
    return slots


# --- the bench ---------------------------------------------------------------------------------------------------

def working_half_hours(zone, start_day):
    """Every other half hour of Mon–Fri 09:00–18:00 from `start_day`, forever (aware datetimes)."""
    day = start_day
    while True:
        if day.weekday() < 5:
            for index in range(0, 18, 2):
                yield dt.datetime.combine(day, dt.time(9), tzinfo=zone) + dt.timedelta(minutes=30 * index)
        day += dt.timedelta(days=1)


def fill(appointments_per_professional, clinic, professionals, service, patient, generators):
    length = dt.timedelta(minutes=SERVICE_MINUTES)
    rows = []
    for professional in professionals:
        generator = generators[professional.pk]
        for _ in range(appointments_per_professional):
            starts = next(generator)
            rows.append(Appointment(clinic=clinic, patient=patient, professional=professional, service=service,
                                    starts_at=starts, ends_at=starts + length, occupied=(starts, starts + length),
                                    status="completed" if starts < dt.datetime.now(dt.timezone.utc) else "scheduled",
                                    source="staff"))
    Appointment.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE scheduling_appointment")


def measure(clinic, service, runs):
    """Median and fastest wall seconds, median CPU seconds of this process (Python only: the database server's
    share is not in it, and neither is the time spent waiting for a busy CPU) and query count of each search,
    run alternately; and the number of slots (both must return the same). On a loaded machine the fastest run
    is the closest to the cost on an idle one."""
    zone = ZoneInfo(clinic.timezone)
    first = dt.datetime.now(zone).date() + dt.timedelta(days=1)
    last = first + dt.timedelta(days=29)
    now = timezone.now()  # one `now` for both, so that both see the same notice window
    searches = {"reference": reference_free_slots, "engine": selectors.free_slots}
    timings = {name: [] for name in searches}
    cpu = {name: [] for name in searches}
    query_counts = {}
    results = {}
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    for search in searches.values():
        search(clinic, service, first, last, now=now)  # warm caches and the connection
    for _ in range(runs):
        for name, search in searches.items():
            queries.clear()
            with connection.execute_wrapper(count):
                started, started_cpu = time.perf_counter(), time.process_time()
                results[name] = search(clinic, service, first, last, now=now)
                timings[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - started_cpu)
            query_counts[name] = len(queries)
    if results["engine"] != results["reference"]:
        raise SystemExit("The engine and the reference return different slots.")
    return ({name: statistics.median(values) for name, values in timings.items()},
            {name: min(values) for name, values in timings.items()},
            {name: statistics.median(values) for name, values in cpu.items()}, query_counts, len(results["engine"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from clinics.models import Clinic
        from scheduling import services
        from scheduling.models import Service

        clinic = Clinic.objects.create(name="Bench clinic", slug="bench-slots", timezone="Europe/Lisbon")
        service = Service.objects.create(clinic=clinic, name="Consulta", duration_minutes=SERVICE_MINUTES)
        professionals = [services.professional_create(clinic=clinic, name=f"Professional {n}", service_ids=[service.pk])
                         for n in range(PROFESSIONALS)]
        patient, _created = services.patient_find_or_create(clinic=clinic, name="Bench Patient",
                                                            phone="+351912345678")
        zone = ZoneInfo(clinic.timezone)
        start_day = dt.datetime.now(zone).date() - dt.timedelta(days=60)
        generators = {p.pk: working_half_hours(zone, start_day) for p in professionals}

        engine_times, engine_fastest, engine_cpu = [], [], []
        total = 0
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"({os.cpu_count()} CPUs)")
        print(f"{'appointments':>12} | {'reference (previous)':>45} | {'engine (now)':>45} | {'ratio':>6} | slots")
        for target in (10_000, 100_000):
            fill((target - total) // PROFESSIONALS, clinic, professionals, service, patient, generators)
            total = target
            # Statistics as autovacuum keeps them on a live table: right after a bulk fill the planner would plan
            # with the previous round's row counts, which measures the fill, not the search.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE scheduling_appointment")
            seconds, fastest, cpu, query_counts, slot_count = measure(clinic, service, args.runs)
            engine_times.append(seconds["engine"])
            engine_fastest.append(fastest["engine"])
            engine_cpu.append(cpu["engine"])

            def figure(name):
                return (f"{seconds[name] * 1000:6.1f} ms (min {fastest[name] * 1000:5.1f}, "
                        f"CPU {cpu[name] * 1000:5.1f}), {query_counts[name]} queries")

            print(f"{target:>12,} | {figure('reference')} | {figure('engine')} "
                  f"| x{seconds['reference'] / seconds['engine']:>5.2f} | {slot_count} (same)")
            if seconds["engine"] * 1000 > TARGET_MS or query_counts["engine"] > TARGET_QUERIES:
                print(f"  median above target ({TARGET_MS} ms, {TARGET_QUERIES} queries)")
        for label, values in (("median", engine_times), ("min", engine_fastest), ("CPU", engine_cpu)):
            growth = values[1] / values[0]
            print(f"engine 100k/10k ({label}): x{growth:.2f} "
                  f"({'within' if growth <= TARGET_GROWTH else 'above'} x{TARGET_GROWTH})")
        print(f"{args.runs} runs of each search, alternately")
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
