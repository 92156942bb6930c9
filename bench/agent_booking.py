"""SQL queries and time of one phone-agent booking (`POST /api/agent-actions/book-appointment/{agent_id}`), the
whole request through the dashboard surface, with 10 professionals and 10,000 appointments in the clinic.

    .venv/bin/python bench/agent_booking.py [--bookings 25]

Works in a throwaway database (created with the migrations, dropped at the end). Each booking is a new caller at
a free time of a different day, so every one takes the usual path: the first professional free is booked and a
patient is created. Queries are counted as the tests count them (`CaptureQueriesContext`): the transaction's
BEGIN and COMMIT included, and, apart, what other apps' receivers run once the booking has committed. Target: at
most 8 queries per booking.
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
os.environ["TEST_DATABASE_NAME"] = "bench_fd_agent_booking"
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")

import django  # noqa: E402

django.setup()

from zoneinfo import ZoneInfo  # noqa: E402

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

PROFESSIONALS = 10
APPOINTMENTS = 10_000
SERVICE_MINUTES = 30
TARGET_QUERIES = 8


def fill(clinic, professionals, service, patient, zone):
    """Every other half hour of Mon–Fri 09:00–18:00 of each professional, from long ago up to 30 days ahead,
    until APPOINTMENTS rows: the future ones leave the half hours at :30 free."""
    from scheduling.models import Appointment

    length = dt.timedelta(minutes=SERVICE_MINUTES)
    now = dt.datetime.now(dt.timezone.utc)
    rows = []
    day = dt.datetime.now(zone).date() + dt.timedelta(days=30)
    while len(rows) < APPOINTMENTS:
        if day.weekday() < 5:
            for hour in range(9, 18):
                starts = dt.datetime.combine(day, dt.time(hour), tzinfo=zone)
                for professional in professionals:
                    rows.append(Appointment(
                        clinic=clinic, patient=patient, professional=professional, service=service,
                        starts_at=starts, ends_at=starts + length, occupied=(starts, starts + length),
                        status="completed" if starts < now else "scheduled", source="staff"))
        day -= dt.timedelta(days=1)
    Appointment.objects.bulk_create(rows[:APPOINTMENTS], batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE scheduling_appointment")


def booking_days(zone, count):
    """`count` weekdays from the day after tomorrow on."""
    day = dt.datetime.now(zone).date() + dt.timedelta(days=2)
    while count:
        if day.weekday() < 5:
            yield day
            count -= 1
        day += dt.timedelta(days=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=25)
    args = parser.parse_args()

    setup_test_environment()  # the test client's host is allowed
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from rest_framework.test import APIClient

        from clinics.models import Clinic
        from scheduling import services
        from scheduling.models import Appointment, Service
        from telephony.agents import agent_for

        clinic = Clinic.objects.create(name="Bench clinic", slug="bench-agent", timezone="Europe/Lisbon")
        zone = ZoneInfo(clinic.timezone)
        service = Service.objects.create(clinic=clinic, name="Consulta", duration_minutes=SERVICE_MINUTES)
        professionals = [services.professional_create(clinic=clinic, name=f"Professional {n}",
                                                      service_ids=[service.pk]) for n in range(PROFESSIONALS)]
        patient, _created = services.patient_find_or_create(clinic=clinic, name="Bench Patient",
                                                            phone="+351912345678")
        fill(clinic, professionals, service, patient, zone)
        agent = agent_for(clinic)
        client = APIClient(REMOTE_ADDR="10.77.0.1")  # its own rate-limit window on the shared Redis
        client.credentials(HTTP_X_AGENT_TOKEN=agent.token_encrypted)
        path = f"/api/agent-actions/book-appointment/{agent.agent_id}"

        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
        timings, in_booking, after_commit = [], [], []
        days = list(booking_days(zone, args.bookings + 1))
        for index, day in enumerate(days):
            body = {"patient_name": f"Caller {index}", "patient_phone": f"+3519160{index:05d}",
                    "date": day.isoformat(), "time": "10:30", "duration_minutes": SERVICE_MINUTES}
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.post(path, body, format="json")
                elapsed = time.perf_counter() - started
            if response.status_code != 201:
                raise SystemExit(f"booking {index} answered {response.status_code}: {response.content[:300]}")
            if index == 0:
                continue  # warms caches and the connection
            statements = [query["sql"] for query in queries.captured_queries]
            committed = statements.index("COMMIT") + 1 if "COMMIT" in statements else len(statements)
            timings.append(elapsed)
            in_booking.append(committed)
            after_commit.append(len(statements) - committed)
        assert Appointment.objects.filter(source="phone_agent").count() == len(days)

        queries, later = max(in_booking), max(after_commit)
        print(f"{len(timings)} agent bookings (new callers, {PROFESSIONALS} professionals, {APPOINTMENTS:,} "
              f"appointments): {queries} queries each up to COMMIT (BEGIN and COMMIT included; "
              f"{'within' if queries <= TARGET_QUERIES else 'above'} the target of {TARGET_QUERIES}), "
              f"+ {later} after commit (other apps' receivers)")
        print(f"time per booking: p50 {statistics.median(timings) * 1000:.1f} ms, "
              f"min {min(timings) * 1000:.1f} ms, max {max(timings) * 1000:.1f} ms")
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
