"""Patients: a phone no longer identifies one person (families share phones); phone + normalised name does.
Name search also matches prefixes of each word, so every patient's blind indexes are recomputed here from the
decrypted name and phone (the PII keys of the settings)."""
import clinics.crypto
import django.contrib.postgres.indexes
from django.db import migrations, models

BATCH = 500


def recompute_indexes(apps, schema_editor):
    """The same indexes `Patient.refresh_indexes()` writes (as of this migration), on the historical model; the
    encrypted fields decrypt with the settings' PII keys."""
    from clinics.crypto import blind_index, name_tokens, normalise_text

    def name_prefix_hashes(tokens):
        prefixes = {token[:length] for token in tokens for length in range(2, len(token) + 1)}
        return [blind_index(prefix, "name-prefix") for prefix in sorted(prefixes)]

    def identity_hash(phone, name):
        return blind_index(f"{phone}|{normalise_text(name or '')}", "identity") if phone else ""

    Patient = apps.get_model("scheduling", "Patient")
    batch = []
    for patient in Patient.objects.only("id", "name", "owner_name", "phone").iterator(chunk_size=BATCH):
        tokens = set(name_tokens(patient.name or "")) | set(name_tokens(patient.owner_name or ""))
        patient.phone_index = blind_index(patient.phone, "phone") if patient.phone else ""
        patient.name_index = [blind_index(token, "name") for token in sorted(tokens)]
        patient.name_prefix_index = name_prefix_hashes(tokens)
        patient.identity_index = identity_hash(patient.phone, patient.name)
        batch.append(patient)
        if len(batch) >= BATCH:
            Patient.objects.bulk_update(batch, ["phone_index", "name_index", "name_prefix_index", "identity_index"])
            batch = []
    if batch:
        Patient.objects.bulk_update(batch, ["phone_index", "name_index", "name_prefix_index", "identity_index"])


class Migration(migrations.Migration):

    dependencies = [
        ('clinics', '0004_user_support_clinics'),
        ('scheduling', '0003_patient_owner_name'),
    ]

    operations = [
        migrations.AddField(
            model_name='patient',
            name='identity_index',
            field=models.CharField(blank=True, default='', max_length=32),
        ),
        migrations.AddField(
            model_name='patient',
            name='name_prefix_index',
            field=clinics.crypto.BlindIndexArrayField(blank=True, default=list, size=None),
        ),
        # Reversing leaves the recomputed indexes in place: they are derived data, and the older code ignores
        # the new columns (which the reverse of AddField drops).
        migrations.RunPython(recompute_indexes, migrations.RunPython.noop),
        # Reversing this re-creates one-patient-per-phone, which fails once two patients share a phone: merge
        # or re-number them first.
        migrations.RemoveConstraint(
            model_name='patient',
            name='patient_unique_clinic_phone',
        ),
        migrations.AddIndex(
            model_name='patient',
            index=django.contrib.postgres.indexes.GinIndex(fields=['name_prefix_index'], name='patient_name_prefix_gin'),
        ),
        migrations.AddIndex(
            model_name='patient',
            index=models.Index(fields=['clinic', 'phone_index'], name='patient_clinic_phone'),
        ),
        migrations.AddConstraint(
            model_name='patient',
            constraint=models.UniqueConstraint(condition=models.Q(('identity_index', ''), _negated=True), fields=('clinic', 'identity_index'), name='patient_unique_clinic_identity'),
        ),
    ]
