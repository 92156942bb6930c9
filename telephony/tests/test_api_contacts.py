"""POST /api/v1/contacts is the `contact_upsert` use case: a known phone merges, a refusal leaves nothing."""
import pytest

from clinics.models import AuditEvent
from scheduling.models import Patient
from scheduling.tests.factories import PatientFactory
from telephony import services
from telephony.services import MAX_TAGS

pytestmark = pytest.mark.django_db

URL = "/api/v1/contacts"


def test_known_contact_merges_email_and_tags_and_says_updated(clinic, client_for):
    patient = PatientFactory(clinic=clinic, name="Ana Lopes", phone="+351912000111", email="", tags=["vip"])

    response = client_for.post(URL, {"name": "ana  LOPES", "phone": "912 000 111", "email": "ana@example.pt",
                                     "tags": ["asthma", "vip"]}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Contact updated"
    assert body["data"]["id"] == patient.hash
    assert body["data"]["name"] == "Ana Lopes" and body["data"]["email"] == "ana@example.pt"
    assert body["data"]["tags"] == ["vip", "asthma"]
    patient.refresh_from_db()
    assert (patient.name, patient.email, patient.tags) == ("Ana Lopes", "ana@example.pt", ["vip", "asthma"])
    assert AuditEvent.objects.filter(action="patient.updated", object_id=patient.hash).exists()
    assert Patient.objects.for_clinic(clinic).count() == 1


def test_known_phone_without_a_name_merges_into_its_only_contact(clinic, client_for):
    patient = PatientFactory(clinic=clinic, name="Ana Lopes", phone="+351912000111", email="")

    response = client_for.post(URL, {"phone": "912 000 111", "email": "ana@example.pt"}, format="json")

    assert (response.status_code, response.json()["data"]["id"]) == (200, patient.hash)
    patient.refresh_from_db()
    assert (patient.name, patient.email) == ("Ana Lopes", "ana@example.pt")


def test_known_phone_with_another_name_is_another_contact_and_the_first_is_unchanged(clinic, client_for):
    patient = PatientFactory(clinic=clinic, name="Ana Lopes", phone="+351912000111", email="ana@example.pt")

    response = client_for.post(URL, {"name": "Rui Costa", "phone": "912 000 111", "email": "rui@example.pt"},
                               format="json")

    assert response.status_code == 201 and response.json()["data"]["id"] != patient.hash
    patient.refresh_from_db()
    assert (patient.name, patient.email) == ("Ana Lopes", "ana@example.pt")
    assert Patient.objects.for_clinic(clinic).count() == 2


def test_known_phone_with_nothing_new_says_it_already_exists(clinic, client_for):
    PatientFactory(clinic=clinic, name="Ana Lopes", phone="+351912000111", tags=["vip"])

    response = client_for.post(URL, {"phone": "+351912000111", "tags": ["vip"]}, format="json")

    assert response.status_code == 200 and response.json()["message"] == "Contact already exists"
    assert not AuditEvent.objects.filter(action="patient.updated").exists()


def test_new_phone_says_created(clinic, client_for):
    response = client_for.post(URL, {"name": "Rui Costa", "phone": "+351912000222", "tags": ["lead"]}, format="json")

    assert response.status_code == 201 and response.json()["message"] == "Contact created"
    assert Patient.objects.for_clinic(clinic).get().tags == ["lead"]


@pytest.mark.parametrize("payload", [
    {"name": "Sem número", "phone": "12"},
    {"name": "Demasiadas etiquetas", "phone": "+351912000333", "tags": [f"t{n}" for n in range(MAX_TAGS + 1)]},
    {"name": "Etiqueta longa", "phone": "+351912000333", "tags": ["x" * 41]},
    {"name": "x" * 201, "phone": "+351912000333"},
])
def test_refused_contact_leaves_no_patient_and_no_audit_row(clinic, client_for, payload):
    response = client_for.post(URL, payload, format="json")

    assert response.status_code == 400
    assert response.json()["success"] is False
    assert not Patient.objects.for_clinic(clinic).exists()
    assert not AuditEvent.objects.filter(action__startswith="patient.").exists()


def test_refused_merge_changes_nothing_of_the_known_contact(clinic, client_for):
    patient = PatientFactory(clinic=clinic, name="Ana Lopes", phone="+351912000111", tags=["vip"])

    response = client_for.post(URL, {"name": "Outra", "phone": "+351912000111",
                                     "tags": [f"t{n}" for n in range(MAX_TAGS + 1)]}, format="json")

    assert response.status_code == 400
    patient.refresh_from_db()
    assert (patient.name, patient.tags) == ("Ana Lopes", ["vip"])


def test_merge_in_one_clinic_leaves_the_same_phone_in_another_clinic_alone(clinic, other_clinic, foreign_client):
    ours = PatientFactory(clinic=clinic, name="Ana Lopes", phone="+351912000111")

    response = foreign_client.post(URL, {"name": "Outra Pessoa", "phone": "+351912000111"}, format="json")

    assert response.status_code == 201
    ours.refresh_from_db()
    assert ours.name == "Ana Lopes"
    assert Patient.objects.for_clinic(other_clinic).get().name == "Outra Pessoa"


def test_contact_upsert_service_reports_created_then_changed_fields(clinic):
    first, created, changed = services.contact_upsert(clinic=clinic, phone="+351912000444", name="Rui")
    again, created_again, changed_again = services.contact_upsert(clinic=clinic, phone="912000444",
                                                                  email="rui@example.pt", tags=["a"])

    assert created and not changed
    assert again.pk == first.pk and not created_again
    assert changed_again == ["email", "tags"]
