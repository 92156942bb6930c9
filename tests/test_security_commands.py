"""Issue 12, item 22: a patient hash that starts with "-" (1 in 64 of the older ones) works with the RGPD commands,
and new hashes never start with "-"."""
import json

import pytest
from django.core.management import CommandError, call_command

from clinics.models import AuditEvent
from scheduling.models import Patient, new_patient_hash
from scheduling.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
DASH_HASH = "-Ab3dEf9hIjK1mNo"


@pytest.fixture
def dash_patient(clinic):
    patient = PatientFactory(clinic=clinic, name="Rui Traço", phone="+351915555555")
    Patient.objects.for_clinic(clinic).filter(pk=patient.pk).update(hash=DASH_HASH)
    patient.refresh_from_db()
    return patient


@pytest.mark.parametrize("form", [[f"--patient-hash={DASH_HASH}"], ["--", DASH_HASH]])
def test_item_22_export_patient_accepts_a_hash_starting_with_a_dash(dash_patient, tmp_path, form):
    target = tmp_path / "export.json"
    call_command("export_patient", "--output", str(target), dash_patient.clinic.slug, *form)
    assert json.loads(target.read_text())["patient"]["name"] == "Rui Traço"
    assert AuditEvent.objects.filter(action="patient.exported", object_id=DASH_HASH).exists()


def test_item_22_erase_patient_accepts_a_hash_starting_with_a_dash(dash_patient):
    call_command("erase_patient", "--yes", dash_patient.clinic.slug, f"--patient-hash={DASH_HASH}")
    dash_patient.refresh_from_db()
    assert dash_patient.name == "" and dash_patient.phone == ""


def test_item_22_two_different_hashes_are_refused(dash_patient):
    with pytest.raises(CommandError):
        call_command("export_patient", dash_patient.clinic.slug, "abc", f"--patient-hash={DASH_HASH}")


def test_item_22_new_patient_hashes_never_start_with_a_dash():
    assert not any(new_patient_hash().startswith("-") for _ in range(5000))

