"""Time and SQL query count of a 30-day slot search over 10 professionals, with 10,000 and 100,000 appointments.

    .venv/bin/python bench/slots.py [--runs 5]

Works in a throwaway database (created with the migrations, dropped at the end). Appointments fill every other
half hour of Mon–Fri 09:00–18:00 from 60 days ago onwards, so the searched month is equally busy in both rounds:
what changes is only how many rows the tables hold. The query count must be equal and the time grow < 2×.
"""
import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
os.environ["TEST_DATABASE_NAME"] = "bench_fd_slots"
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")

import django  # noqa: E402

django.setup()

from zoneinfo import ZoneInfo  # noqa: E402

from django.db import connection  # noqa: E402

PROFESSIONALS = 10
SERVICE_MINUTES = 30


def working_half_hours(zone, start_day):
    """Every other half hour of Mon–Fri 09:00–18:00 from `start_day`, forever (aware datetimes)."""
    day = start_day
    while True:
        if day.weekday() < 5:
            for index in range(0, 18, 2):
                yield dt.datetime.combine(day, dt.time(9), tzinfo=zone) + dt.timedelta(minutes=30 * index)
        day += dt.timedelta(days=1)


def fill(appointments_per_professional, clinic, professionals, service, patient, generators):
    from scheduling.models import Appointment

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
    from scheduling.selectors import free_slots

    zone = ZoneInfo(clinic.timezone)
    first = dt.datetime.now(zone).date() + dt.timedelta(days=1)
    last = first + dt.timedelta(days=29)
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    free_slots(clinic, service, first, last)  # warm caches and the connection
    timings = []
    slots = []
    for _ in range(runs):
        queries.clear()
        with connection.execute_wrapper(count):
            started = time.perf_counter()
            slots = free_slots(clinic, service, first, last)
            timings.append(time.perf_counter() - started)
    return statistics.median(timings), len(queries), len(slots)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from clinics.models import Clinic
        from scheduling import services
        from scheduling.models import Professional, Service

        clinic = Clinic.objects.create(name="Bench clinic", slug="bench-slots", timezone="Europe/Lisbon")
        service = Service.objects.create(clinic=clinic, name="Consulta", duration_minutes=SERVICE_MINUTES)
        professionals = [services.professional_create(clinic=clinic, name=f"Professional {n}", service_ids=[service.pk])
                         for n in range(PROFESSIONALS)]
        patient, _created = services.patient_find_or_create(clinic=clinic, name="Bench Patient",
                                                            phone="+351912345678")
        zone = ZoneInfo(clinic.timezone)
        start_day = dt.datetime.now(zone).date() - dt.timedelta(days=60)
        generators = {p.pk: working_half_hours(zone, start_day) for p in professionals}
        assert Professional.objects.filter(clinic=clinic).count() == PROFESSIONALS

        results = []
        total = 0
        for target in (10_000, 100_000):
            began = time.perf_counter()
            fill((target - total) // PROFESSIONALS, clinic, professionals, service, patient, generators)
            total = target
            loaded = time.perf_counter() - began
            seconds, query_count, slot_count = measure(clinic, service, args.runs)
            results.append((target, seconds, query_count, slot_count))
            print(f"{target:>7,} appointments (loaded in {loaded:.1f} s): 30-day search over {PROFESSIONALS} "
                  f"professionals = {seconds * 1000:.1f} ms (median of {args.runs}), {query_count} SQL queries, "
                  f"{slot_count} free slots")
        (_n1, t1, q1, _s1), (_n2, t2, q2, _s2) = results
        print(f"query count {q1} -> {q2} ({'same' if q1 == q2 else 'DIFFERENT'}); time x{t2 / t1:.2f} "
              f"({'< 2x' if t2 / t1 < 2 else '>= 2x'})")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
