"""The patient record's "Send a message" (telephony/patient_message.py): an SMS to the patient's phone through
`message_send` with the local backend, audited; an empty text is a 400 that stores nothing; viewers and other
clinics cannot use it."""
import pytest
from django.urls import reverse

from clinics.models import AuditEvent, Membership
from clinics.tests.factories import ClinicFactory, MembershipFactory, sign_in_verified
from scheduling.tests.factories import PatientFactory
from telephony.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def maria(clinic):
    return PatientFactory(clinic=clinic, name="Maria Antunes", phone="+351912345678")


def _member(client, clinic, role=Membership.Role.EDITOR):
    return sign_in_verified(client, MembershipFactory(clinic=clinic, role=role).user)


def test_staff_send_a_message_to_the_patients_phone_and_it_is_audited(client, clinic, maria):
    _member(client, clinic)
    url = reverse("telephony:patient_message", args=[maria.pk])
    assert "+351912345678" in client.get(url).content.decode()
    response = client.post(url, {"body": "Os resultados chegaram."})
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:patient_record", args=[maria.pk])
    message = Message.objects.get(clinic=clinic)
    assert (message.to_phone, message.body, message.direction) == ("+351912345678", "Os resultados chegaram.",
                                                                   Message.Direction.OUTBOUND)
    assert AuditEvent.objects.filter(clinic=clinic, action="message.sent", object_id=str(message.pk)).exists()


def test_an_empty_message_is_a_400_and_nothing_is_stored(client, clinic, maria):
    _member(client, clinic)
    response = client.post(reverse("telephony:patient_message", args=[maria.pk]), {"body": "   "})
    assert response.status_code == 400
    assert "empty" in response.content.decode()
    assert not Message.objects.exists()


def test_a_viewer_can_neither_open_nor_send(client, clinic, maria):
    _member(client, clinic, Membership.Role.VIEWER)
    url = reverse("telephony:patient_message", args=[maria.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"body": "Olá"}).status_code == 403
    assert not Message.objects.exists()


def test_another_clinics_patient_is_404(client, maria):
    _member(client, ClinicFactory(), Membership.Role.ADMIN)
    url = reverse("telephony:patient_message", args=[maria.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"body": "Olá"}).status_code == 404
    assert not Message.objects.exists()
