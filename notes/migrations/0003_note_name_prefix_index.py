"""Notes: name search matches the start of any word of the name, through keyed hashes of each word's prefixes;
every note's prefix index is computed here from its decrypted name (the PII keys of the settings)."""

import clinics.crypto
import django.contrib.postgres.indexes
from django.db import migrations

BATCH = 500


def compute_prefix_index(apps, schema_editor):
    """What `Note.set_name()` writes (as of this migration), on the historical model."""
    from clinics.crypto import blind_index, name_tokens

    Note = apps.get_model("notes", "Note")
    batch = []
    for note in Note.objects.only("id", "name").iterator(chunk_size=BATCH):
        tokens = name_tokens(note.name or "")
        prefixes = {token[:length] for token in tokens for length in range(2, len(token) + 1)}
        note.name_prefix_index = [blind_index(prefix, "note-name-prefix") for prefix in sorted(prefixes)]
        batch.append(note)
        if len(batch) >= BATCH:
            Note.objects.bulk_update(batch, ["name_prefix_index"])
            batch = []
    if batch:
        Note.objects.bulk_update(batch, ["name_prefix_index"])


class Migration(migrations.Migration):

    dependencies = [
        ('clinics', '0004_user_support_clinics'),
        ('notes', '0002_note_patient_appointment'),
        ('scheduling', '0004_patient_identity_and_name_prefixes'),
    ]

    operations = [
        migrations.AddField(
            model_name='note',
            name='name_prefix_index',
            field=clinics.crypto.BlindIndexArrayField(blank=True, default=list, size=None),
        ),
        migrations.AddIndex(
            model_name='note',
            index=django.contrib.postgres.indexes.GinIndex(fields=['name_prefix_index'], name='notes_note_name_prefix_gin'),
        ),
        migrations.RunPython(compute_prefix_index, migrations.RunPython.noop),
    ]
