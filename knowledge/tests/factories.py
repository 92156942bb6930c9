import factory
from factory.django import DjangoModelFactory

from clinics.tests.factories import ClinicFactory
from knowledge.models import KnowledgeChunk, KnowledgeFile


class KnowledgeFileFactory(DjangoModelFactory):
    class Meta:
        model = KnowledgeFile

    clinic = factory.SubFactory(ClinicFactory)
    filename = factory.Sequence(lambda n: f"document-{n}.txt")
    # A stored name only: factories write nothing to storage (the upload tests do, in their own directory).
    file = factory.LazyAttribute(lambda document: f"knowledge/{document.clinic.pk}/{document.filename}")
    file_size = 16
    file_type = "text/plain"
    extension = ".txt"


class KnowledgeChunkFactory(DjangoModelFactory):
    """A chunk without an embedding (as right after it is written, before the task ran)."""

    class Meta:
        model = KnowledgeChunk

    clinic = factory.SubFactory(ClinicFactory)
    content = factory.Sequence(lambda n: f"Passage number {n} about the clinic.")
