"""Patients under the RGPD: encrypted at rest, found through blind indexes, shown by role, audited."""
import pytest
from django.db import connection

from campaigns.tests.factories import EngagementPatientFactory as PatientFactory
from clinics.models import AuditEvent, Membership

pytestmark = pytest.mark.django_db


def test_raw_sql_dump_of_patients_table_holds_no_plaintext_name_phone_or_email(clinic):
    PatientFactory(clinic=clinic, name="Maria da Silva", phone="+351912345678", email="maria.silva@example.pt")
    with connection.cursor() as cursor:
        cursor.execute("select * from scheduling_patient")
        dump = repr(cursor.fetchall()).lower()
    assert "maria" not in dump and "silva" not in dump
    assert "912345678" not in dump
    assert "example.pt" not in dump and "maria.silva" not in dump
    assert "v1:" in dump  # the ciphertext is there


def _hashes(response):
    return [item["hash"] for item in response.json()["items"]]


def test_search_by_name_words_finds_patient_with_particles_between_them(clinic, client_for):
    maria = PatientFactory(clinic=clinic, name="Maria da Silva")
    PatientFactory(clinic=clinic, name="Maria Santos")
    PatientFactory(clinic=clinic, name="João Silva")

    response = client_for.get("/v1/patients", {"search": "maria silva"})

    assert response.status_code == 200
    assert _hashes(response) == [maria.hash]


def test_search_ignores_case_and_accents(clinic, client_for):
    joao = PatientFactory(clinic=clinic, name="João Gonçalves")
    assert _hashes(client_for.get("/v1/patients", {"search": "JOAO goncalves"})) == [joao.hash]


def test_search_by_full_phone_in_national_or_international_form(clinic, client_for):
    patient = PatientFactory(clinic=clinic, phone="+351912345678")
    PatientFactory(clinic=clinic, phone="+351912345679")
    assert _hashes(client_for.get("/v1/patients", {"search": "912 345 678"})) == [patient.hash]
    assert _hashes(client_for.get("/v1/patients", {"search": "+351912345678"})) == [patient.hash]


def test_patient_list_has_documented_fields_and_cursor_pages(clinic, client_for):
    first, second = PatientFactory(clinic=clinic), PatientFactory(clinic=clinic)

    page = client_for.get("/v1/patients", {"limit": 1}).json()
    assert set(page) == {"items", "nextCursor", "hasMore"}
    assert page["hasMore"] is True
    item = page["items"][0]
    for name in ("hash", "name", "phone", "email", "birthDate", "gender", "species", "tags", "consents"):
        assert name in item
    assert item["hash"] == first.hash and item["name"] == first.name and item["phone"] == first.phone

    rest = client_for.get("/v1/patients", {"limit": 1, "cursor": page["nextCursor"]}).json()
    assert [i["hash"] for i in rest["items"]] == [second.hash]
    assert rest["hasMore"] is False and rest["nextCursor"] is None


def test_viewer_sees_masked_personal_data_in_lists_and_detail(clinic, jwt_client_for):
    patient = PatientFactory(clinic=clinic, name="Maria da Silva", phone="+351912345678",
                             email="maria@example.pt")
    viewer = jwt_client_for(clinic, Membership.Role.VIEWER)

    item = viewer.get("/v1/patients").json()["items"][0]
    assert item["name"] == "M. S."
    assert item["phone"] == "+351 9•• ••• •78"
    assert item["email"] == "m•••@example.pt"
    assert item["masked"] is True

    detail = viewer.get(f"/v1/patients/{patient.hash}").json()
    assert detail["name"] == "M. S." and "912345678" not in str(detail)


@pytest.mark.parametrize("role", [Membership.Role.ADMIN, Membership.Role.EDITOR])
def test_admin_and_editor_read_decrypted_detail_and_leave_an_audit_row_with_purpose(clinic, jwt_client_for, role):
    patient = PatientFactory(clinic=clinic, name="Maria da Silva", phone="+351912345678")
    client = jwt_client_for(clinic, role)

    response = client.get(f"/v1/patients/{patient.hash}", HTTP_X_PURPOSE="booking follow-up")

    assert response.status_code == 200
    assert response.json()["name"] == "Maria da Silva"
    assert response.json()["phone"] == "+351912345678"
    event = AuditEvent.objects.get(action="patient.read", object_id=patient.hash)
    assert event.purpose == "booking follow-up"
    assert event.actor_id == str(client.membership.user_id)
    assert event.clinic_id == clinic.id
    assert event.extra["masked"] is False


def test_key_with_read_and_pii_reads_decrypted_detail_and_read_alone_masked(clinic, make_client):
    patient = PatientFactory(clinic=clinic, name="Rui Costa")
    response = make_client(clinic, permissions=("read", "pii")).get(f"/v1/patients/{patient.hash}")
    assert response.json()["name"] == "Rui Costa"
    response = make_client(clinic, permissions=("read",)).get(f"/v1/patients/{patient.hash}")
    assert response.json()["name"] == "R. C."


def test_list_read_is_audited_with_the_hashes_shown(clinic, client_for):
    patient = PatientFactory(clinic=clinic)
    client_for.get("/v1/patients", {"purpose": "recall campaign"})
    event = AuditEvent.objects.get(action="patient.list")
    assert event.extra["hashes"] == [patient.hash]
    assert event.purpose == "recall campaign"


def test_patient_of_another_clinic_is_404(clinic, foreign_client):
    patient = PatientFactory(clinic=clinic)
    response = foreign_client.get(f"/v1/patients/{patient.hash}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert foreign_client.get("/v1/patients").json()["items"] == []


def test_bad_limit_gets_v1_error_body(client_for):
    response = client_for.get("/v1/patients", {"limit": "lots"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_ERROR" and "limit" in body["error"]["details"]


def test_bad_cursor_gets_v1_error_body(client_for):
    response = client_for.get("/v1/patients", {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert "cursor" in response.json()["error"]["details"]


def test_unauthenticated_patient_list_is_401(api_client):
    response = api_client.get("/v1/patients")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_veterinary_patient_is_the_animal_found_by_its_owners_name_too(clinic, client_for):
    rex = PatientFactory(clinic=clinic, name="Rex", species="dog", owner_name="Maria da Silva",
                         phone="+351912345678")

    assert _hashes(client_for.get("/v1/patients", {"search": "maria silva"})) == [rex.hash]
    assert _hashes(client_for.get("/v1/patients", {"search": "rex"})) == [rex.hash]
    detail = client_for.get(f"/v1/patients/{rex.hash}").json()
    assert (detail["name"], detail["species"], detail["ownerName"]) == ("Rex", "dog", "Maria da Silva")
    with connection.cursor() as cursor:
        cursor.execute("select owner_name from scheduling_patient")
        assert "maria" not in repr(cursor.fetchall()).lower()


def test_erasure_clears_the_owners_name(clinic):
    from scheduling import patients

    rex = PatientFactory(clinic=clinic, name="Rex", owner_name="Maria da Silva")
    patients.erase_patient(rex)
    rex.refresh_from_db()
    assert rex.owner_name == "" and rex.name_index == []
