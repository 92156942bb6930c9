"""A reminder worker process killed between sending the SMS and recording it: the patient still gets one SMS."""
import datetime as dt
import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from campaigns import services
from campaigns.models import Reminder
from campaigns.tests.factories import AppointmentFactory
from telephony.models import Message

NOON = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.timezone.utc)

# Holds the worker inside its bookkeeping UPDATE long enough to kill it there; the SMS has already left.
SLOW_BOOKKEEPING = """
CREATE OR REPLACE FUNCTION test_slow_bookkeeping() RETURNS trigger AS $$
BEGIN
  IF NEW.state = 'sent' THEN PERFORM pg_sleep(4); END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER test_slow_bookkeeping BEFORE UPDATE ON campaigns_reminder
  FOR EACH ROW EXECUTE FUNCTION test_slow_bookkeeping();
"""
CLEAN_UP = """
DROP TRIGGER IF EXISTS test_slow_bookkeeping ON campaigns_reminder;
DROP FUNCTION IF EXISTS test_slow_bookkeeping();
"""
WORKER = ("import datetime as dt; from campaigns.services import reminders_send_due; "
          f"reminders_send_due(now=dt.datetime.fromisoformat({NOON.isoformat()!r}))")


def _backend_in_bookkeeping():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event = 'PgSleep' AND query ILIKE '%campaigns_reminder%'")
        row = cursor.fetchone()
    return row[0] if row else None


def _backend_alive(pid):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is not None


def reminder_messages():
    return Message.objects.filter(purpose__startswith="reminder:")


@pytest.mark.django_db(transaction=True)
def test_worker_killed_between_send_and_bookkeeping_leads_to_one_sms(clinic):
    from conftest import _database_url, wait_for

    appointment = AppointmentFactory(clinic=clinic, starts_at=NOON + dt.timedelta(hours=5))
    with connection.cursor() as cursor:
        cursor.execute(SLOW_BOOKKEEPING)
    env = {**os.environ, "DATABASE_URL": _database_url(settings.DATABASES["default"])}
    worker = subprocess.Popen([sys.executable, "manage.py", "shell", "-c", WORKER], cwd=settings.BASE_DIR, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pid = wait_for(_backend_in_bookkeeping, timeout=60)
        assert pid, "the worker never reached its bookkeeping step"
        assert reminder_messages().count() == 1  # the SMS left before the worker died
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        # PostgreSQL rolls back the dead worker's open transaction once it notices the client is gone.
        assert wait_for(lambda: not _backend_alive(pid), timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
        with connection.cursor() as cursor:
            cursor.execute(CLEAN_UP)

    reminder = Reminder.objects.get(appointment=appointment)
    assert reminder.state == Reminder.State.SENDING and reminder.message_id is None

    assert services.reminders_send_due(now=NOON + dt.timedelta(minutes=5)) == 0  # beat restarts
    assert reminder_messages().count() == 1

    services.reminders_send_due(now=NOON + dt.timedelta(minutes=15))  # the claim is settled from the outbox
    reminder.refresh_from_db()
    assert reminder.state == Reminder.State.SENT
    assert reminder.message_id == reminder_messages().get().id
    assert reminder_messages().count() == 1
