"""The knowledge base's files of an agent id and its chunks, with another clinic's ids: each clinic sees and
changes only its own, and the answer's body says so (not only its status)."""
import pytest

from clinics.errors import NotFound
from clinics.selectors import agent_summary
from knowledge import services
from knowledge.models import KnowledgeChunk, KnowledgeFile

from .factories import KnowledgeChunkFactory, KnowledgeFileFactory

pytestmark = pytest.mark.django_db

FILES = "/api/agents/knowledge-base/files"


def test_files_of_the_clinics_agent_are_the_clinics_files_only(dashboard_client, clinic, other_clinic):
    mine = KnowledgeFileFactory(clinic=clinic, filename="hours.txt")
    KnowledgeFileFactory(clinic=other_clinic, filename="their-prices.csv")

    response = dashboard_client.get(FILES, {"agent_id": agent_summary(clinic)["agent_id"]})

    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body] == [str(mine.id)]
    assert body[0]["filename"] == "hours.txt" and body[0]["file_size"] == mine.file_size


def test_files_of_another_clinics_agent_are_404_with_the_documented_body(dashboard_client, clinic, other_clinic):
    KnowledgeFileFactory(clinic=clinic)
    response = dashboard_client.get(FILES, {"agent_id": agent_summary(other_clinic)["agent_id"]})
    assert response.status_code == 404
    assert response.json() == {"detail": "Agent not found", "code": "AGENT_NOT_FOUND"}


def test_an_overlong_agent_id_is_400(dashboard_client):
    response = dashboard_client.get(FILES, {"agent_id": "a" * 500})
    assert response.status_code == 400
    assert "agent_id" in response.json()["errors"]


def test_deleting_another_clinics_file_is_404_and_keeps_it(dashboard_client, other_clinic):
    theirs = KnowledgeFileFactory(clinic=other_clinic)
    response = dashboard_client.delete(f"/api/agents/knowledge-base/{theirs.pk}")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert KnowledgeFile.objects.filter(pk=theirs.pk).exists()


def test_services_refuse_another_clinics_chunk(clinic, other_clinic):
    theirs = KnowledgeChunkFactory(clinic=other_clinic, content="Theirs.")
    with pytest.raises(NotFound):
        services.chunk_update(clinic=clinic, chunk_id=theirs.pk, actor=None, content="Mine.")
    with pytest.raises(NotFound):
        services.chunk_delete(clinic=clinic, chunk_id=theirs.pk, actor=None)
    assert KnowledgeChunk.objects.get(pk=theirs.pk).content == "Theirs."


def test_patching_another_clinics_chunk_is_404_on_v1(foreign_client, clinic):
    chunk = KnowledgeChunkFactory(clinic=clinic, content="Ours.")
    response = foreign_client.patch(f"/v1/knowledge/{chunk.pk}", {"content": "Theirs."}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert KnowledgeChunk.objects.get(pk=chunk.pk).content == "Ours."
