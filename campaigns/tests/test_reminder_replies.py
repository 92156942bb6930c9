"""A patient's SIM/NAO by SMS reaches the reminded appointment through Twilio's signed inbound webhook and the
`message_received` signal (telephony stores the message, campaigns applies the answer)."""
import datetime as dt

import pytest
from django.utils import timezone

from campaigns.services import reminders_send_due
from scheduling.models import Appointment
from telephony.models import Message
from telephony.numbers import messaging_number_seed
from telephony.tests.test_webhooks import AUTH_TOKEN, INBOUND_URL, inbound_params, signed_post

from .factories import AppointmentFactory

pytestmark = pytest.mark.django_db


def test_sim_reply_by_sms_confirms_the_reminded_appointment(client, clinic, settings):
    # 14:00 in two days; the reminder goes at 10:00 that day, outside Lisbon's quiet hours.
    starts = (timezone.now() + dt.timedelta(days=2)).replace(hour=14, minute=0, second=0, microsecond=0)
    appointment = AppointmentFactory(clinic=clinic, starts_at=starts, patient__phone="+351912345678")
    assert reminders_send_due(now=starts - dt.timedelta(hours=4)) == 1
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    # Replies route by the clinic's verified number (or, on the platform's shared sender, by who wrote).
    messaging_number_seed(clinic=clinic, phone=clinic.phone)

    response = signed_post(client, INBOUND_URL, inbound_params(body="SIM", to=clinic.phone))
    replay = signed_post(client, INBOUND_URL, inbound_params(body="SIM", to=clinic.phone))

    assert response.status_code == replay.status_code == 200
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CONFIRMED
    assert Message.objects.filter(direction=Message.Direction.INBOUND).count() == 1
