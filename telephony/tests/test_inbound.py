"""Inbound messages: stored once, announced to the apps above, and never lost to a refused reaction."""
import pytest

from clinics.errors import Conflict
from telephony import services
from telephony.models import Message
from telephony.numbers import messaging_number_seed
from telephony.signals import message_received

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def verified_number(clinic):
    """Inbound messages route by a verified messaging number only (telephony/numbers.py)."""
    return messaging_number_seed(clinic=clinic, phone=clinic.phone)


@pytest.fixture
def refusing_receiver():
    def refuse(sender, message, **kwargs):
        raise Conflict(None, "This reply cannot be applied.")

    message_received.connect(refuse, dispatch_uid="test.refusing_receiver")
    yield
    message_received.disconnect(dispatch_uid="test.refusing_receiver")


def test_a_refused_reaction_keeps_the_inbound_message(clinic, refusing_receiver):
    message = services.message_receive(provider="twilio", provider_message_id="SM" + "a" * 32,
                                       from_phone="+351912345678", to_phone=clinic.phone, body="SIM")

    stored = Message.objects.for_clinic(clinic).get()
    assert stored.pk == message.pk and stored.body == "SIM"


def test_a_replayed_inbound_message_is_announced_once(clinic):
    announced = []

    def count(sender, message, **kwargs):
        announced.append(message.pk)

    message_received.connect(count, dispatch_uid="test.counting_receiver")
    try:
        for _attempt in range(2):
            services.message_receive(provider="twilio", provider_message_id="SM" + "b" * 32,
                                     from_phone="+351912345678", to_phone=clinic.phone, body="NAO")
    finally:
        message_received.disconnect(dispatch_uid="test.counting_receiver")

    assert len(announced) == 1
    assert Message.objects.for_clinic(clinic).count() == 1
