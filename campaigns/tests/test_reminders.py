"""Reminders: due 24 h (or the clinic's hours) before, outside quiet hours, and never twice."""
import datetime as dt

import pytest
from django.db import connection

from campaigns import services, tasks
from campaigns.models import Reminder
from campaigns.tests.factories import AppointmentFactory
from scheduling.models import Appointment
from telephony.models import Message

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc
# Lisbon is on UTC in November, so these are also the clinic's local times.
NOON = dt.datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def reminder_messages():
    return Message.objects.filter(purpose__startswith="reminder:")


def test_job_run_twice_sends_exactly_one_sms_per_appointment(clinic):
    first = AppointmentFactory(clinic=clinic, starts_at=NOON + dt.timedelta(hours=20))
    second = AppointmentFactory(clinic=clinic, starts_at=NOON + dt.timedelta(hours=23))

    assert services.reminders_send_due(now=NOON) == 2
    assert services.reminders_send_due(now=NOON + dt.timedelta(minutes=5)) == 0

    assert reminder_messages().count() == 2
    for appointment in (first, second):
        reminder = Reminder.objects.get(appointment=appointment)
        assert reminder.state == Reminder.State.SENT
        message = Message.objects.get(pk=reminder.message_id)
        assert message.to_phone == appointment.patient.phone
        assert "Responda SIM" in message.body and clinic.name in message.body  # the clinic speaks pt-PT


def test_beat_task_sends_due_reminders_once(clinic):
    from django.utils import timezone

    clinic.booking_rules = {"quiet_hours": {"start": "00:00", "end": "00:00"}}  # none: the real clock decides
    clinic.save()
    AppointmentFactory(clinic=clinic, starts_at=timezone.now() + dt.timedelta(hours=3))
    assert tasks.send_due_reminders.apply().get() == 1
    assert tasks.send_due_reminders.apply().get() == 0
    assert reminder_messages().count() == 1


def test_reminder_is_not_sent_before_the_clinic_reminder_window(clinic):
    AppointmentFactory(clinic=clinic, starts_at=NOON + dt.timedelta(hours=30))
    assert services.reminders_send_due(now=NOON) == 0

    clinic.booking_rules = {"reminder_hours": 48}
    clinic.save()
    assert services.reminders_send_due(now=NOON) == 1


def test_reminder_due_in_quiet_hours_waits_for_their_end(clinic):
    appointment = AppointmentFactory(clinic=clinic, starts_at=dt.datetime(2026, 11, 27, 10, 0, tzinfo=UTC))

    assert services.reminders_send_due(now=dt.datetime(2026, 11, 26, 22, 0, tzinfo=UTC)) == 0
    assert services.reminders_send_due(now=dt.datetime(2026, 11, 27, 8, 59, tzinfo=UTC)) == 0
    assert services.reminders_send_due(now=dt.datetime(2026, 11, 27, 9, 0, tzinfo=UTC)) == 1
    assert Reminder.objects.get(appointment=appointment).state == Reminder.State.SENT


def test_clinic_quiet_hours_are_configurable(clinic):
    clinic.booking_rules = {"quiet_hours": {"start": "12:00", "end": "13:00"}}
    clinic.save()
    AppointmentFactory(clinic=clinic, starts_at=NOON + dt.timedelta(hours=5))
    assert services.reminders_send_due(now=NOON) == 0
    assert services.reminders_send_due(now=NOON + dt.timedelta(hours=1)) == 1


def test_cancelled_and_past_appointments_get_no_reminder(clinic):
    AppointmentFactory(clinic=clinic, starts_at=NOON + dt.timedelta(hours=5), status=Appointment.Status.CANCELLED)
    AppointmentFactory(clinic=clinic, starts_at=NOON - dt.timedelta(hours=1))
    assert services.reminders_send_due(now=NOON) == 0
    assert reminder_messages().count() == 0


def test_patient_who_refused_sms_gets_none_and_is_not_retried(clinic):
    appointment = AppointmentFactory(clinic=clinic, starts_at=NOON + dt.timedelta(hours=5),
                                     patient__consents={"sms": False})
    services.reminders_send_due(now=NOON)
    services.reminders_send_due(now=NOON + dt.timedelta(minutes=5))
    assert reminder_messages().count() == 0
    assert Reminder.objects.get(appointment=appointment).state == Reminder.State.FAILED


CRASH_TRIGGER = """
CREATE FUNCTION test_crash_before_bookkeeping() RETURNS trigger AS $$
BEGIN
  IF NEW.state = 'sent' THEN RAISE EXCEPTION 'worker died between send and bookkeeping'; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER test_crash_before_bookkeeping BEFORE UPDATE ON campaigns_reminder
  FOR EACH ROW EXECUTE FUNCTION test_crash_before_bookkeeping();
"""


def test_crash_between_send_and_bookkeeping_still_leads_to_one_sms(clinic):
    appointment = AppointmentFactory(clinic=clinic, starts_at=NOON + dt.timedelta(hours=5))
    with connection.cursor() as cursor:
        cursor.execute(CRASH_TRIGGER)

    services.reminders_send_due(now=NOON)  # the SMS leaves, then recording it fails

    assert reminder_messages().count() == 1
    assert Reminder.objects.get(appointment=appointment).state == Reminder.State.SENDING
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_crash_before_bookkeeping ON campaigns_reminder")

    services.reminders_send_due(now=NOON + dt.timedelta(minutes=5))  # restarted beat: the claim stands
    assert reminder_messages().count() == 1

    services.reminders_send_due(now=NOON + dt.timedelta(minutes=15))  # later run settles the claim
    reminder = Reminder.objects.get(appointment=appointment)
    assert reminder.state == Reminder.State.SENT
    assert reminder.message_id == reminder_messages().get().id
    assert reminder_messages().count() == 1


def test_crash_before_the_sms_left_is_settled_as_unknown_and_not_resent(clinic):
    appointment = AppointmentFactory(clinic=clinic, starts_at=NOON + dt.timedelta(hours=5))
    # A claim whose worker died before sending: nothing in the outbox carries its purpose.
    Reminder.objects.create(clinic=clinic, appointment=appointment, claimed_at=NOON - dt.timedelta(minutes=30))

    services.reminders_send_due(now=NOON)

    assert reminder_messages().count() == 0
    assert Reminder.objects.get(appointment=appointment).state == Reminder.State.UNKNOWN


def test_unique_claim_is_enforced_by_the_database(clinic):
    from django.db import IntegrityError, transaction

    appointment = AppointmentFactory(clinic=clinic)
    Reminder.objects.create(clinic=clinic, appointment=appointment)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(clinic=clinic, appointment=appointment)


# --- replies ------------------------------------------------------------------------------------------------------

@pytest.fixture
def reminded(clinic):
    appointment = AppointmentFactory(clinic=clinic, starts_at=NOON + dt.timedelta(hours=5),
                                     patient__phone="+351912345678")
    services.reminders_send_due(now=NOON)
    return appointment


@pytest.mark.parametrize("body", ["SIM", "sim, obrigado", "YES", "1", "Confirmo"])
def test_reply_confirms_the_reminded_appointment(clinic, reminded, body):
    outcome = services.reminder_reply_handle(clinic=clinic, from_phone="+351912345678", body=body, now=NOON + dt.timedelta(minutes=10))
    assert outcome.action == "confirmed" and outcome.appointment == reminded
    reminded.refresh_from_db()
    assert reminded.status == Appointment.Status.CONFIRMED
    assert Reminder.objects.get(appointment=reminded).reply == "confirmed"


@pytest.mark.parametrize("body", ["NAO", "Não", "no", "2", "CANCELAR"])
def test_reply_cancels_the_reminded_appointment(clinic, reminded, body):
    outcome = services.reminder_reply_handle(clinic=clinic, from_phone="912 345 678", body=body, now=NOON + dt.timedelta(minutes=10))
    assert outcome.action == "cancelled"
    reminded.refresh_from_db()
    assert reminded.status == Appointment.Status.CANCELLED


def test_reply_that_is_not_an_answer_changes_nothing(clinic, reminded):
    assert services.reminder_reply_handle(clinic=clinic, from_phone="+351912345678", body="Posso levar o meu filho?",
                                         now=NOON + dt.timedelta(minutes=10)) is None
    reminded.refresh_from_db()
    assert reminded.status == Appointment.Status.SCHEDULED


def test_reply_from_another_number_or_clinic_changes_nothing(clinic, other_clinic, reminded):
    later = NOON + dt.timedelta(minutes=10)
    assert services.reminder_reply_handle(clinic=clinic, from_phone="+351912999999", body="SIM", now=later) is None
    assert services.reminder_reply_handle(clinic=other_clinic, from_phone="+351912345678", body="SIM", now=later) is None
    reminded.refresh_from_db()
    assert reminded.status == Appointment.Status.SCHEDULED
