from django.db import connection

from notes.models import Note, name_index_for
from notes.tests.factories import NoteFactory, NoteSectionFactory


def test_personal_fields_are_stored_encrypted(clinic):
    note = NoteFactory(clinic=clinic, name="Bolinha Ferreira", transcript="cão com tosse há três dias",
                       metadata=[{"key": "tutor", "value": "João Silva"}])
    NoteSectionFactory(note=note, content="Febre de 39,5 °C")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, transcript, metadata FROM notes_note WHERE id = %s", [note.id])
        name, transcript, metadata = cursor.fetchone()
        cursor.execute("SELECT content FROM notes_notesection WHERE note_id = %s", [note.id])
        (content,) = cursor.fetchone()
    stored = " ".join([name, transcript, metadata, content])
    for plaintext in ("Bolinha", "tosse", "João", "Febre"):
        assert plaintext not in stored
    assert all(value.startswith("v1:") for value in (name, transcript, metadata, content))

    reloaded = Note.objects.get(pk=note.pk)
    assert reloaded.name == "Bolinha Ferreira"
    assert reloaded.transcript == "cão com tosse há três dias"
    assert reloaded.metadata == [{"key": "tutor", "value": "João Silva"}]
    assert reloaded.sections.get().content == "Febre de 39,5 °C"


def test_name_index_holds_one_hash_per_word_without_accents(clinic):
    note = NoteFactory(clinic=clinic, name="Bolinha Ferreira")
    assert sorted(note.name_index) == sorted(name_index_for("bolinha FERREIRA"))
    assert Note.objects.filter(name_index__contains=name_index_for("Ferreira")).get() == note
