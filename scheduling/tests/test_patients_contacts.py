"""Contacts on the voice API (docs/api/voice.md): patients and leads, deduplicated by phone and name."""
import pytest

from campaigns.tests.factories import AppointmentFactory
from campaigns.tests.factories import EngagementPatientFactory as PatientFactory
from clinics.models import AuditEvent
from scheduling.models import Patient

pytestmark = pytest.mark.django_db


def test_post_new_contact_creates_a_lead_with_201_in_voice_envelope(clinic, client_for):
    response = client_for.post("/api/v1/contacts", {"name": "Ana Lopes", "phone": "912 000 111",
                                                    "email": "ana@example.pt"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True and body["message"]
    contact = body["data"]
    assert contact["type"] == "lead"
    assert contact["name"] == "Ana Lopes" and contact["phone"] == "+351912000111"
    patient = Patient.objects.get(clinic=clinic, hash=contact["id"])
    assert patient.name_index and patient.phone_index
    assert AuditEvent.objects.filter(action="patient.created", object_id=patient.hash).exists()


def test_post_existing_phone_and_name_returns_the_existing_contact_with_200(clinic, client_for):
    patient = PatientFactory(clinic=clinic, name="Ana Lopes", phone="+351912000111")
    AppointmentFactory(clinic=clinic, patient=patient)

    response = client_for.post("/api/v1/contacts", {"name": "ana  LOPES", "phone": "+351 912 000 111"},
                               format="json")

    assert response.status_code == 200
    assert response.json()["data"]["id"] == patient.hash
    assert response.json()["data"]["type"] == "patient"
    # The merge itself (e-mail, tags) is telephony's contact_upsert: telephony/tests/test_api_contacts.py.
    assert response.json()["data"]["name"] == "Ana Lopes"
    assert Patient.objects.filter(clinic=clinic).count() == 1


def test_post_existing_phone_with_another_name_creates_a_contact_sharing_the_phone(clinic, client_for):
    patient = PatientFactory(clinic=clinic, name="Ana Lopes", phone="+351912000111")

    response = client_for.post("/api/v1/contacts", {"name": "Outra Pessoa", "phone": "+351 912 000 111"},
                               format="json")

    assert response.status_code == 201
    assert response.json()["data"]["id"] != patient.hash
    assert response.json()["data"]["name"] == "Outra Pessoa"
    patient.refresh_from_db()
    assert patient.name == "Ana Lopes"
    assert Patient.objects.filter(clinic=clinic, phone_index=patient.phone_index).count() == 2


def test_same_phone_in_another_clinic_is_another_contact(clinic, client_for, foreign_client):
    patient = PatientFactory(clinic=clinic, phone="+351912000111")
    response = foreign_client.post("/api/v1/contacts", {"phone": "+351912000111"}, format="json")
    assert response.status_code == 201
    assert response.json()["data"]["id"] != patient.hash


def test_contact_list_is_paginated_in_voice_shape_and_searchable(clinic, client_for):
    ana = PatientFactory(clinic=clinic, name="Ana Lopes")
    PatientFactory(clinic=clinic, name="Rui Costa")

    body = client_for.get("/api/v1/contacts", {"search": "lopes"}).json()

    assert body["success"] is True
    assert [item["id"] for item in body["data"]] == [ana.hash]
    assert body["meta"]["total"] == 1


def test_contacts_of_another_clinic_are_invisible(clinic, foreign_client):
    PatientFactory(clinic=clinic)
    body = foreign_client.get("/api/v1/contacts").json()
    assert body["data"] == [] and body["meta"]["total"] == 0


@pytest.mark.parametrize("payload", [{"name": "Sem telefone"}, {"phone": "12"}, {"phone": "+351912000111",
                                                                                 "email": "not-an-email"}])
def test_bad_contact_gets_voice_error_body(client_for, payload):
    response = client_for.post("/api/v1/contacts", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["data"] is None and body["message"]


def test_read_only_key_cannot_create_contacts(clinic, make_client):
    response = make_client(clinic, permissions=("read",)).post("/api/v1/contacts", {"phone": "+351912000111"},
                                                               format="json")
    assert response.status_code == 403
    assert response.json()["success"] is False
