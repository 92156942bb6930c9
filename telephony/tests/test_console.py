"""The console's Outbox page: the active clinic's messages, decrypted, newest first."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinics.tests.factories import MembershipFactory, UserFactory, sign_in_verified
from telephony.models import Message

from .factories import MessageFactory

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def member(clinic):
    user = UserFactory()
    MembershipFactory(user=user, clinic=clinic, role="editor")  # editors need no second factor
    return user


def test_outbox_lists_the_clinics_messages_decrypted_newest_first(client, member, clinic, other_clinic):
    now = timezone.now()
    MessageFactory(clinic=clinic, body="Lembrete antigo", created_at=now - timedelta(hours=2))
    MessageFactory(clinic=clinic, body="Consulta confirmada", to_phone="+351933333333", purpose="reminder",
                   created_at=now)
    MessageFactory(clinic=other_clinic, body="Mensagem de outra clínica")
    sign_in_verified(client, member)

    response = client.get(reverse("telephony:outbox"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Consulta confirmada" in page and "+351933333333" in page and "reminder" in page
    assert page.index("Consulta confirmada") < page.index("Lembrete antigo")
    assert "Mensagem de outra clínica" not in page


def test_outbox_follows_the_clinic_chosen_in_the_session(client, member, clinic, other_clinic):
    MembershipFactory(user=member, clinic=other_clinic)
    MessageFactory(clinic=clinic, body="Da primeira")
    MessageFactory(clinic=other_clinic, body="Da segunda")
    sign_in_verified(client, member)
    session = client.session
    session["clinic_id"] = str(other_clinic.id)
    session.save()

    page = client.get("/console/outbox/").content.decode()

    assert "Da segunda" in page and "Da primeira" not in page


def test_outbox_shows_failures_and_inbound_senders(client, member, clinic):
    MessageFactory(clinic=clinic, status=Message.Status.FAILED, error="Twilio answered 500: Internal Server Error")
    MessageFactory(clinic=clinic, direction=Message.Direction.INBOUND, status=Message.Status.RECEIVED,
                   from_phone="+351944444444", to_phone="+351210000000", body="Obrigado")
    sign_in_verified(client, member)

    page = client.get("/console/outbox/").content.decode()

    assert "Twilio answered 500" in page
    assert "+351944444444" in page


def test_outbox_needs_sign_in(client):
    response = client.get("/console/outbox/")
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_calls_page_lists_the_clinics_calls_with_status_filter(client, member, clinic, other_clinic):
    from telephony.models import Call

    from .factories import CallFactory

    CallFactory(clinic=clinic, title="Marcação de consulta", status=Call.Status.COMPLETED)
    CallFactory(clinic=clinic, title="Chamada falhada", status=Call.Status.FAILED)
    CallFactory(clinic=other_clinic, title="Chamada alheia")
    sign_in_verified(client, member)

    everything = client.get(reverse("telephony:calls")).content.decode()
    failed = client.get(reverse("telephony:calls"), {"status": "failed"}).content.decode()

    assert "Marcação de consulta" in everything and "Chamada falhada" in everything
    assert "Chamada alheia" not in everything
    assert "Chamada falhada" in failed and "Marcação de consulta" not in failed


def test_call_page_shows_transcript_and_hides_other_clinics_calls(client, member, clinic, other_clinic):
    from .factories import CallFactory

    mine = CallFactory(clinic=clinic)
    theirs = CallFactory(clinic=other_clinic)
    sign_in_verified(client, member)

    page = client.get(reverse("telephony:call_detail", args=[mine.pk]))

    assert page.status_code == 200
    assert "Queria marcar uma consulta." in page.content.decode()
    assert client.get(reverse("telephony:call_detail", args=[theirs.pk])).status_code == 404
