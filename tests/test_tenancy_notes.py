"""Tenancy of the patient's consultation notes in RGPD requests: the notes "named after the patient" (unlinked notes
whose name is the patient's) are looked for in the patient's clinic only. Another clinic's unlinked note of a person
with the same name is neither exported nor erased with this clinic's patient."""
import pytest

from clinics.tests.factories import ClinicFactory
from notes.models import Note
from notes.tests.factories import NoteFactory
from scheduling.patients import erase_patient, export_patient
from scheduling.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NAME = "Maria Teste Homónima"


@pytest.fixture
def namesakes():
    clinic, other = ClinicFactory(), ClinicFactory()
    patient = PatientFactory(clinic=clinic, name=NAME)
    own = NoteFactory(clinic=clinic, name=NAME, transcript="Nota desta clínica.")
    foreign = NoteFactory(clinic=other, name=NAME, transcript="Nota da outra clínica.")
    return patient, own, foreign


def test_an_rgpd_export_holds_the_notes_named_after_the_patient_in_this_clinic_only(namesakes):
    patient, own, foreign = namesakes

    exported = export_patient(patient)

    ids = {note["id"] for note in exported["consultationNotes"]}
    assert str(own.pk) in ids and str(foreign.pk) not in ids


def test_erasing_a_patient_never_erases_another_clinics_note_of_a_namesake(namesakes):
    patient, own, foreign = namesakes

    erase_patient(patient)

    assert Note.objects.get(pk=own.pk).transcript == ""
    kept = Note.objects.get(pk=foreign.pk)
    assert kept.name == NAME and kept.transcript == "Nota da outra clínica."


def test_another_clinics_recording_answers_404_on_the_console_while_its_own_clinic_hears_it(client):
    """The walk's note has no recording (404 either way); this one has, so only the clinic filter answers 404."""
    from django.core.files.base import ContentFile

    from clinics.models import Membership
    from clinics.tests.factories import MembershipFactory, sign_in_verified

    clinic, other = ClinicFactory(), ClinicFactory()
    note = NoteFactory(clinic=clinic, name="Rex")
    note.audio.save("gravacao.wav", ContentFile(b"RIFF-recording-of-clinic-a"), save=True)
    url = f"/console/notes/{note.pk}/audio/"

    sign_in_verified(client, MembershipFactory(clinic=other, role=Membership.Role.ADMIN).user)
    foreign = client.get(url)
    client.logout()
    sign_in_verified(client, MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN).user)
    own = client.get(url)

    assert foreign.status_code == 404
    assert own.status_code == 200 and b"".join(own.streaming_content) == b"RIFF-recording-of-clinic-a"
