import factory
from factory.django import DjangoModelFactory

from clinics.tests.factories import ClinicFactory
from notes.models import Note, NoteSection, name_index_for, name_prefix_index_for


class NoteFactory(DjangoModelFactory):
    class Meta:
        model = Note

    clinic = factory.SubFactory(ClinicFactory)
    name = "Rex"
    name_index = factory.LazyAttribute(lambda note: name_index_for(note.name))
    name_prefix_index = factory.LazyAttribute(lambda note: name_prefix_index_for(note.name))
    gender = Note.Gender.MALE
    external_id = factory.Sequence(lambda n: f"CLIENTE_{n}")
    metadata = factory.LazyFunction(lambda: [{"key": "veterinario", "value": "Dr. Silva"}])
    audio_format = "wav"
    audio_mime = "audio/wav"
    transcription_status = Note.Status.COMPLETED
    transcript = "The patient complains of a cough."
    template = Note.Template.VETERINARY


class NoteSectionFactory(DjangoModelFactory):
    class Meta:
        model = NoteSection

    note = factory.SubFactory(NoteFactory)
    title = "Anamnesis"
    label = factory.Sequence(lambda n: f"section_{n}")
    content = "Cough for three days."
    order = factory.Sequence(lambda n: n + 1)
