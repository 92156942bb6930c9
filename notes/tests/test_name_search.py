"""The notes API `name` filter matches partially: the start of any word of the name (docs/api/notes.md, List
notes), through keyed hashes of each word's prefixes, the name itself staying encrypted."""
import base64
import importlib
import io

from django.apps import apps as django_apps
from django.db import connection

from notes.models import Note
from notes.tests.conftest import wav_bytes
from notes.tests.factories import NoteFactory

URL = "/notes/v1/notes"


def upload(client, **fields):
    audio = io.BytesIO(wav_bytes())
    audio.name = "consulta.wav"
    response = client.post(URL, {"audio": audio, **fields}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["data"]["id"]


def names_found(client, query):
    response = client.get(URL, {"name": query})
    assert response.status_code == 200, response.content
    return sorted(note["name"] for note in response.json()["data"])


def test_the_start_of_a_word_finds_the_note_uploaded_through_the_api(notes_client):
    upload(notes_client, name="Maria Silva")
    upload(notes_client, name="Rex Ferreira")

    assert names_found(notes_client, "Mar") == ["Maria Silva"]
    assert names_found(notes_client, "sil") == ["Maria Silva"]
    assert names_found(notes_client, "SÍLV mari") == ["Maria Silva"]  # any order, accents and case ignored
    assert names_found(notes_client, "Maria Silva") == ["Maria Silva"]
    assert names_found(notes_client, "ria") == []  # the start of a word, not any substring
    assert names_found(notes_client, "Mar Fer") == []  # every word typed must match


def test_the_name_is_stored_encrypted_with_hashes_only(notes_client):
    note_id = upload(notes_client, name="Maria Silva")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, array_to_string(name_prefix_index, ' ') FROM notes_note WHERE id = %s",
                       [note_id])
        stored_name, stored_prefixes = cursor.fetchone()
    # The name is an envelope ("v1:<key id>:<base64>") whose sealed bytes hold no part of it (the base64 text itself
    # may spell anything by chance), and the prefixes are hex digests.
    prefix, _key_id, payload = stored_name.split(":", 2)
    assert prefix == "v1" and b"Maria" not in base64.b64decode(payload, validate=True)
    assert "mar" not in stored_prefixes.lower() and all(
        len(digest) == 32 and set(digest) <= set("0123456789abcdef") for digest in stored_prefixes.split())


def test_another_clinics_notes_are_not_found_by_prefix(foreign_notes_client, clinic):
    NoteFactory(clinic=clinic, name="Maria Silva")
    assert names_found(foreign_notes_client, "Mar") == []


def test_the_migration_computes_the_prefix_index_of_existing_notes(notes_client, clinic):
    note = NoteFactory(clinic=clinic, name="Maria Silva")
    Note.objects.filter(pk=note.pk).update(name_prefix_index=[])  # as before the migration
    assert names_found(notes_client, "Mar") == []

    migration = importlib.import_module("notes.migrations.0003_note_name_prefix_index")
    migration.compute_prefix_index(django_apps, None)

    assert names_found(notes_client, "Mar") == ["Maria Silva"]
