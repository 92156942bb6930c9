"""RGPD rights over one patient (export, erasure) and the rotation of the PII encryption key."""
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from campaigns import services as engagement
from campaigns.models import FeedbackResponse, TriageResponse
from campaigns.tests.factories import AppointmentFactory, TaskFactory
from campaigns.tests.factories import EngagementPatientFactory as PatientFactory
from clinics.crypto import key_id_of
from clinics.models import AuditEvent
from scheduling import patients
from scheduling.models import Appointment, Patient
from telephony.models import Call, Message
from telephony.tests.factories import CallFactory

pytestmark = pytest.mark.django_db

OLD_KEY = "old:" + "b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleSE="
NEW_KEY = "new:" + "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleSE="


@pytest.fixture
def seen_patient(clinic):
    """A patient with an appointment, an SMS, triage answers, feedback and a task."""
    patient = PatientFactory(clinic=clinic, name="Maria da Silva", phone="+351912345678",
                             email="maria@example.pt", consents={"sms": True, "marketing": True},
                             external_id="EXT-42")
    appointment = AppointmentFactory(clinic=clinic, patient=patient, notes="Dores de cabeça frequentes")
    link, _message = engagement.triage_link_send(clinic=appointment.clinic, appointment=appointment)
    engagement.triage_submit(link=link, submitted={"reason": "Enxaqueca", "allergies": "no"})
    Appointment.objects.filter(pk=appointment.pk).update(status=Appointment.Status.COMPLETED)
    appointment.refresh_from_db()
    feedback_link = engagement.feedback_request(appointment=appointment)
    engagement.feedback_submit(link=feedback_link, score=9, comment="Muito atenciosa")
    TaskFactory(clinic=clinic, patient=patient, title="Ligar à Maria", description="Resultados das análises")
    CallFactory(clinic=clinic, phone_number="+351912345678", summary="Maria pediu uma consulta")
    return patient


def test_export_holds_everything_about_the_patient_and_is_audited(seen_patient):
    data = patients.export_patient(seen_patient)

    assert data["patient"]["name"] == "Maria da Silva"
    assert data["patient"]["phone"] == "+351912345678"
    assert data["patient"]["externalId"] == "EXT-42"
    assert data["appointments"][0]["notes"] == "Dores de cabeça frequentes"
    assert any("triagem" in message["body"] for message in data["messages"])
    assert any("feedback" in message["body"] for message in data["messages"])
    assert {"id": "reason", "question": "What is the reason for your appointment?", "answer": "Enxaqueca"} in \
        data["triageResponses"][0]["answers"]
    assert data["feedback"][0] == {**data["feedback"][0], "score": 9, "comment": "Muito atenciosa"}
    assert data["tasks"][0]["title"] == "Ligar à Maria"
    assert data["calls"][0]["summary"] == "Maria pediu uma consulta"
    json.dumps(data)  # JSON-ready
    event = AuditEvent.objects.get(action="patient.exported")
    assert event.object_id == seen_patient.hash and event.purpose == "data subject access request"


def test_export_command_writes_json_and_leaves_an_audit_row(seen_patient, tmp_path):
    target = tmp_path / "export.json"
    call_command("export_patient", seen_patient.clinic.slug, seen_patient.hash, "--output", str(target))
    assert json.loads(target.read_text())["patient"]["email"] == "maria@example.pt"
    assert AuditEvent.objects.filter(action="patient.exported", object_id=seen_patient.hash).count() == 1


def test_export_command_refuses_unknown_patient(clinic):
    with pytest.raises(CommandError):
        call_command("export_patient", clinic.slug, "nope")


def test_erasure_destroys_personal_fields_keeps_anonymised_appointments_and_audit_rows(seen_patient):
    audit_rows_before = AuditEvent.objects.count()

    patients.erase_patient(seen_patient)

    patient = Patient.objects.get(pk=seen_patient.pk)
    assert (patient.name, patient.phone, patient.email, patient.external_id) == ("", "", "", "")
    assert patient.birth_date is None and patient.consents == {}
    assert patient.phone_index == "" and patient.name_index == []
    appointment = patient.appointments.get()
    assert appointment.notes == "" and appointment.status == Appointment.Status.COMPLETED
    assert TriageResponse.objects.get(appointment=appointment).answers == []
    feedback = FeedbackResponse.objects.get(appointment=appointment)
    assert feedback.comment == "" and feedback.score == 9
    assert not Message.objects.filter(to_phone_index=seen_patient.phone_index).exists()
    assert "Maria" not in str(list(Message.objects.filter(clinic=patient.clinic).values_list("body", flat=True)))
    assert "Maria" not in patient.tasks.get().title
    assert Call.objects.get(clinic=patient.clinic).summary == ""
    assert AuditEvent.objects.count() == audit_rows_before + 1
    assert AuditEvent.objects.get(action="patient.erased").object_id == patient.hash
    with connection.cursor() as cursor:
        cursor.execute("select * from scheduling_patient")
        assert "maria" not in repr(cursor.fetchall()).lower()


def test_erased_patient_is_no_longer_found_by_name_or_phone(seen_patient, client_for):
    patients.erase_patient(seen_patient)
    assert client_for.get("/v1/patients", {"search": "maria silva"}).json()["items"] == []
    assert client_for.get("/v1/patients", {"search": "+351912345678"}).json()["items"] == []


def test_erase_command_needs_confirmation_then_erases(seen_patient):
    with pytest.raises(CommandError):
        call_command("erase_patient", seen_patient.clinic.slug, seen_patient.hash)
    assert Patient.objects.get(pk=seen_patient.pk).name == "Maria da Silva"

    call_command("erase_patient", seen_patient.clinic.slug, seen_patient.hash, "--yes")
    assert Patient.objects.get(pk=seen_patient.pk).name == ""
    assert AuditEvent.objects.filter(action="patient.erased", object_id=seen_patient.hash).exists()


def _raw(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"select {column} from {table} where id = %s", [pk])
        return cursor.fetchone()[0]


def test_rows_written_with_an_old_key_stay_readable_and_rotation_moves_them_to_the_new_key(clinic, settings):
    settings.PII_ENCRYPTION_KEYS = [OLD_KEY]
    patient = PatientFactory(clinic=clinic, name="Maria da Silva", phone="+351912345678", email="m@example.pt")
    message = Message.objects.create(clinic=clinic, to_phone="+351912345678", to_phone_index="x", body="Olá")
    assert key_id_of(_raw("scheduling_patient", "name", patient.pk)) == "old"

    settings.PII_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert Patient.objects.get(pk=patient.pk).name == "Maria da Silva"

    call_command("rotate_pii_keys", "--batch-size", "1")

    for column in ("name", "phone", "email"):
        assert key_id_of(_raw("scheduling_patient", column, patient.pk)) == "new"
    assert key_id_of(_raw("telephony_message", "body", message.pk)) == "new"
    settings.PII_ENCRYPTION_KEYS = [NEW_KEY]  # the old key can now go
    reread = Patient.objects.get(pk=patient.pk)
    assert (reread.name, reread.phone, reread.email) == ("Maria da Silva", "+351912345678", "m@example.pt")
    assert Message.objects.get(pk=message.pk).body == "Olá"


def test_rotation_skips_rows_already_on_the_newest_key(clinic, settings):
    patient = PatientFactory(clinic=clinic)
    before = _raw("scheduling_patient", "name", patient.pk)
    call_command("rotate_pii_keys")
    assert _raw("scheduling_patient", "name", patient.pk) == before


def test_consultation_notes_are_exported_and_their_content_erased(seen_patient):
    from notes.models import Note
    from notes.tests.factories import NoteFactory, NoteSectionFactory

    note = NoteFactory(clinic=seen_patient.clinic, patient=seen_patient, name="Maria da Silva",
                       transcript="Maria queixa-se de enxaqueca.")
    NoteSectionFactory(note=note, label="anamnesis", content="Enxaqueca há três dias.")

    exported = patients.export_patient(seen_patient)["consultationNotes"]
    assert exported[0]["transcript"] == "Maria queixa-se de enxaqueca."
    assert exported[0]["sections"][0]["content"] == "Enxaqueca há três dias."

    patients.erase_patient(seen_patient)

    note = Note.objects.get(pk=note.pk)
    assert (note.name, note.transcript, note.metadata, note.name_index) == ("", "", [], [])
    assert note.sections.get().content == ""
    assert AuditEvent.objects.get(action="patient.erased").extra["consultation_notes"] == 1
