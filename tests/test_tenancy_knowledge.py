"""Tenancy of the knowledge base's maintenance: re-queuing the stale embeddings of one clinic touches that clinic's
chunks and files only, whatever another clinic has waiting."""
import pytest

from clinics.tests.factories import ClinicFactory
from knowledge.models import KnowledgeChunk, KnowledgeFile
from knowledge.services import stale_embeddings_queue
from knowledge.tests.factories import KnowledgeChunkFactory, KnowledgeFileFactory

pytestmark = pytest.mark.django_db


def test_requeuing_one_clinics_stale_embeddings_leaves_another_clinics_chunks_and_files_alone(
        django_capture_on_commit_callbacks):
    clinic, other = ClinicFactory(), ClinicFactory()
    own_file = KnowledgeFileFactory(clinic=clinic, processed=True)
    foreign_file = KnowledgeFileFactory(clinic=other, processed=True)
    own = KnowledgeChunkFactory(clinic=clinic, file=own_file)
    foreign = KnowledgeChunkFactory(clinic=other, file=foreign_file)

    with django_capture_on_commit_callbacks(execute=True) as queued:
        count = stale_embeddings_queue(clinic=clinic)

    assert count == 1 and len(queued) == 1
    assert KnowledgeChunk.objects.get(pk=own.pk).embedding is not None
    assert KnowledgeChunk.objects.get(pk=foreign.pk).embedding is None
    assert KnowledgeFile.objects.get(pk=foreign_file.pk).processed is True


def test_another_clinics_files_never_count_against_this_clinics_plan_limit(settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from knowledge.services import knowledge_file_upload

    settings.MEDIA_ROOT = str(tmp_path / "media")
    clinic, other = ClinicFactory(), ClinicFactory()  # both on the free plan: 5 files each
    KnowledgeFileFactory.create_batch(5, clinic=other)

    document = knowledge_file_upload(clinic=clinic, uploaded=SimpleUploadedFile("horario.txt", b"Abrimos as 9h."),
                                     actor=None)

    assert document.clinic == clinic
    assert KnowledgeFile.objects.filter(clinic=clinic).count() == 1
