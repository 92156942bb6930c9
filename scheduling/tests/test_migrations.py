"""The patient-identity migration recomputes every patient's blind indexes from the decrypted name and phone."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from clinics.crypto import blind_index
from clinics.tests.factories import ClinicFactory

BEFORE = [("scheduling", "0003_patient_owner_name")]
AFTER = [("scheduling", "0004_patient_identity_and_name_prefixes")]


@pytest.mark.django_db(transaction=True)
def test_migration_indexes_name_prefixes_and_identity_of_existing_patients():
    from scheduling.models import Patient, identity_hash

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old_patient = executor.loader.project_state(BEFORE).apps.get_model("scheduling", "Patient")
        clinic = ClinicFactory()
        old_patient.objects.create(clinic_id=clinic.pk, hash="before-migration", name="Maria da Silva",
                                   phone="+351912345678", phone_index="", name_index=[])

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)

        patient = Patient.objects.get(hash="before-migration")
        assert patient.phone_index == blind_index("+351912345678", "phone")
        assert blind_index("mar", "name-prefix") in patient.name_prefix_index
        assert blind_index("silva", "name") in patient.name_index  # exact tokens still indexed
        assert patient.identity_index == identity_hash("+351912345678", "maria da silva")
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
