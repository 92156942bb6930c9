"""Throughput and SQL queries of a bulk SMS campaign to 10,000 consenting patients, and the time it takes at a
1,000-a-minute allowance.

    .venv/bin/python bench/campaign.py [--patients 10000] [--rate 1000]

Works in a throwaway database (created with the migrations, dropped at the end), with the local SMS backend and
the in-memory Celery broker (nothing leaves the machine; no worker runs). Three figures:

1. queueing: `campaigns.bulk.campaign_batch_send` run back to back with an allowance that never binds — messages
   per second and SQL queries per message of the campaign batches (claim, INSERT of the messages, status UPDATE);
2. delivery: `telephony.services.message_deliver` of each queued message, what the `send_sms` task runs in a
   worker — messages per second and queries per message;
3. the schedule: the same campaign again at `--rate` a minute, batches run on a simulated clock that jumps to
   each batch's `retry_in` (what the task passes as its countdown): the projected time for all patients.
"""
import argparse
import datetime as dt
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
os.environ["TEST_DATABASE_NAME"] = "bench_fd_campaign"
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ["SMS_BACKEND"] = "local"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

MARKETING = {"sms": True, "marketing": True}
logging.getLogger("telephony").setLevel(logging.WARNING)  # the local backend logs each message it "delivers"


class Counter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=1000)
    args = parser.parse_args()

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from campaigns import bulk
        from clinics.models import Clinic
        from scheduling.models import Patient
        from telephony.models import Message
        from telephony.services import message_deliver

        clinic = Clinic.objects.create(name="Bench clinic", slug="bench-campaign", timezone="Europe/Lisbon",
                                       booking_rules={"quiet_hours": {"start": "00:00", "end": "00:00"},
                                                      "campaign_sms_per_minute": 10_000_000})
        rows = []
        for n in range(args.patients):
            row = Patient(clinic=clinic, name=f"Maria {n}", phone=f"+35191{n:07d}", consents=MARKETING)
            row.refresh_indexes()
            rows.append(row)
        Patient.objects.bulk_create(rows, batch_size=2000)
        print(f"{args.patients:,} consenting patients; load average {os.getloadavg()[0]:.2f} "
              f"({os.cpu_count()} CPUs)")

        # 1. queueing, allowance never binding
        campaign = bulk.campaign_send(clinic=clinic, name="Gripe", message="Olá {name}, a {clinic} tem a vacina.",
                                      audience=bulk.Audience())
        counter, batches, queued = Counter(), 0, 0
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            while True:
                result = bulk.campaign_batch_send(campaign_id=campaign.id)
                batches += 1
                queued += result.sent + result.failed
                if not result.remaining:
                    break
        seconds = time.perf_counter() - started
        print(f"queueing: {queued:,} messages in {batches} batches, {seconds:.2f} s = {queued / seconds:,.0f} "
              f"messages/s, {counter.count} queries = {counter.count / queued:.3f} per message")

        # 2. delivery, as the send_sms task does it, one message each
        messages = list(Message.objects.for_clinic(clinic).filter(status=Message.Status.QUEUED)[:2000])
        counter = Counter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            for message in messages:
                message_deliver(message=message)
        seconds = time.perf_counter() - started
        print(f"delivery (local backend, in-process): {len(messages):,} messages, {len(messages) / seconds:,.0f} "
              f"messages/s, {counter.count / len(messages):.1f} queries per message")

        # 3. the schedule at --rate a minute, on a simulated clock
        clinic.booking_rules = {**clinic.booking_rules, "campaign_sms_per_minute": args.rate}
        clinic.save(update_fields=["booking_rules"])
        campaign = bulk.campaign_send(clinic=clinic, name="Gripe 2", message="Olá {name}", audience=bulk.Audience())
        clock = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(hours=1)
        first, done, batches, sent_first_minute = clock, 0, 0, 0
        while True:
            begun = time.perf_counter()
            result = bulk.campaign_batch_send(campaign_id=campaign.id, now=clock)
            batches += 1
            done += result.sent + result.failed
            if clock - first < dt.timedelta(minutes=1):
                sent_first_minute += result.sent
            clock += dt.timedelta(seconds=time.perf_counter() - begun)
            if not result.remaining:
                break
            clock += dt.timedelta(seconds=result.retry_in)
        minutes = (clock - first).total_seconds() / 60
        print(f"schedule at {args.rate:,}/min: {done:,} messages in {batches} batch runs, {sent_first_minute:,} in "
              f"the first minute; last batch queued after {minutes:.1f} min "
              f"(projected {args.patients:,} at {args.rate:,}/min: {minutes:.1f} min; before: one batch of 50 a "
              f"minute, {args.patients / 50:.0f} min)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
