import factory
from factory.django import DjangoModelFactory

from clinics.tests.factories import ClinicFactory
from knowledge.models import KnowledgeChunk, KnowledgeFile


class KnowledgeFileFactory(DjangoModelFactory):
    class Meta:
        model = KnowledgeFile

    clinic = factory.SubFactory(ClinicFactory)
    filename = factory.Sequence(lambda n: f"document-{n}.txt")
    file = factory.django.FileField(filename="document.txt", data=b"We open at nine.")
    file_size = 16
    file_type = "text/plain"
    extension = ".txt"


class KnowledgeChunkFactory(DjangoModelFactory):
    """A chunk without an embedding (as right after it is written, before the task ran)."""

    class Meta:
        model = KnowledgeChunk

    clinic = factory.SubFactory(ClinicFactory)
    content = factory.Sequence(lambda n: f"Passage number {n} about the clinic.")
