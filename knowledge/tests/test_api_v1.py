"""`/v1/knowledge` (docs/api/clinic-v1.md): chunks listed with cursors, created and edited with their embedding made by a
Celery task, deleted, and searched by meaning with the real local model (all-MiniLM-L6-v2)."""
import pytest
from django.db import connection

from knowledge.models import KnowledgeChunk

from .factories import KnowledgeChunkFactory

pytestmark = pytest.mark.django_db

CLINIC_FACTS = [
    ("Opening hours", "We are open on Saturdays from 9:00 to 13:00; on Sundays the clinic is closed."),
    ("Parking", "Free parking is available in the car park behind the building."),
    ("Prices", "A dental cleaning costs 60 euros and a whitening session 250 euros."),
    ("Insurance", "We accept Médis, Multicare and AdvanceCare health insurance."),
    ("Phone", "Call us on 210 000 000 on weekdays to speak to the reception."),
]


@pytest.fixture
def add_chunk(client_for, django_capture_on_commit_callbacks):
    """POST a chunk and run what its commit queued (the embedding task), as a worker would."""

    def add(content, title=""):
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for.post("/v1/knowledge", {"content": content, "title": title}, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    return add


def test_post_creates_a_pending_chunk_that_the_task_embeds(client_for, clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for.post("/v1/knowledge", {"title": "Parking", "content": "Free parking behind us."},
                                   format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["content"] == "Free parking behind us."
    assert body["title"] == "Parking"
    assert body["status"] == "pending" and body["embedded"] is False and body["fileId"] is None
    assert len(callbacks) == 1

    callbacks[0]()
    chunk = KnowledgeChunk.objects.get(pk=body["id"])
    assert chunk.clinic == clinic
    assert len(chunk.embedding) == 384
    assert chunk.embedding_model == "local:all-MiniLM-L6-v2"
    shown = client_for.get(f"/v1/knowledge/{body['id']}").json()
    assert shown["status"] == "embedded" and shown["embeddingModel"] == "local:all-MiniLM-L6-v2"


def test_question_about_saturday_ranks_the_saturday_hours_first(client_for, add_chunk):
    created = {title: add_chunk(content, title)["id"] for title, content in CLINIC_FACTS}

    response = client_for.get("/v1/knowledge", {"query": "what time do you open on saturday"})

    assert response.status_code == 200
    body = response.json()
    assert body["hasMore"] is False and body["nextCursor"] is None
    items = body["items"]
    assert items[0]["id"] == created["Opening hours"]
    assert len(items) == 5
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 0.5 > scores[-1]


def test_search_returns_limit_results_and_only_the_clinics_own(client_for, add_chunk, other_clinic, make_client,
                                                              django_capture_on_commit_callbacks):
    for title, content in CLINIC_FACTS:
        add_chunk(content, title)
    foreign = make_client(other_clinic)
    with django_capture_on_commit_callbacks(execute=True):
        foreign.post("/v1/knowledge", {"content": "Open on Saturdays 8:00 to 20:00."}, format="json")

    items = client_for.get("/v1/knowledge", {"query": "saturday opening hours", "limit": 2}).json()["items"]

    assert len(items) == 2
    assert all(KnowledgeChunk.objects.get(pk=item["id"]).clinic_id != other_clinic.id for item in items)
    assert "8:00 to 20:00" not in str(items)


def test_chunks_of_another_model_are_not_searched_until_embedded_again(client_for, add_chunk, clinic,
                                                                       django_capture_on_commit_callbacks):
    from django.core.management import call_command

    chunk_id = add_chunk("We are open on Saturdays from 9:00 to 13:00.")["id"]
    KnowledgeChunk.objects.filter(pk=chunk_id).update(embedding_model="openai:text-embedding-3-small:384")
    assert client_for.get("/v1/knowledge", {"query": "saturday"}).json()["items"] == []

    with django_capture_on_commit_callbacks(execute=True):
        call_command("embed_knowledge", stdout=open("/dev/null", "w"))

    assert [item["id"] for item in client_for.get("/v1/knowledge", {"query": "saturday"}).json()["items"]] == [
        chunk_id]


def test_patch_of_the_text_drops_the_old_embedding_and_embeds_the_new_text(client_for, add_chunk,
                                                                           django_capture_on_commit_callbacks):
    chunk_id = add_chunk("Free parking is available behind the building.")["id"]
    before = list(KnowledgeChunk.objects.get(pk=chunk_id).embedding)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for.patch(f"/v1/knowledge/{chunk_id}",
                                    {"content": "We are open on Saturdays from 9:00 to 13:00."}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    assert response.json()["content"] == "We are open on Saturdays from 9:00 to 13:00."
    assert KnowledgeChunk.objects.get(pk=chunk_id).embedding is None

    for callback in callbacks:
        callback()
    chunk = KnowledgeChunk.objects.get(pk=chunk_id)
    assert chunk.embedding is not None and list(chunk.embedding) != before
    assert chunk.revision == 2
    top = client_for.get("/v1/knowledge", {"query": "saturday opening time"}).json()["items"][0]
    assert top["id"] == chunk_id and top["status"] == "embedded"


def test_an_embedding_made_for_an_older_text_is_not_saved(client_for, add_chunk, django_capture_on_commit_callbacks):
    from knowledge import services

    chunk_id = add_chunk("First text.")["id"]
    chunk = KnowledgeChunk.objects.get(pk=chunk_id)
    KnowledgeChunk.objects.filter(pk=chunk_id).update(embedding=None, embedding_model="")
    with django_capture_on_commit_callbacks():
        services.chunk_update(clinic=chunk.clinic, chunk_id=chunk_id, actor=None, content="Second text.")
    # A task that read revision 1 ("First text.") finishes after the edit: its vector must not be kept.
    KnowledgeChunk.objects.filter(pk=chunk_id, revision=chunk.revision).update(embedding=[0.1] * 384)
    assert KnowledgeChunk.objects.get(pk=chunk_id).embedding is None


def test_patch_of_the_title_only_keeps_the_text(client_for, add_chunk):
    chunk_id = add_chunk("Free parking behind the building.", "Parking")["id"]
    response = client_for.patch(f"/v1/knowledge/{chunk_id}", {"title": "Car park"}, format="json")
    assert response.status_code == 200
    assert response.json()["title"] == "Car park"
    assert response.json()["content"] == "Free parking behind the building."


def test_delete_removes_the_chunk(client_for, clinic):
    chunk = KnowledgeChunkFactory(clinic=clinic)
    response = client_for.delete(f"/v1/knowledge/{chunk.pk}")
    assert response.status_code == 204
    assert not KnowledgeChunk.objects.filter(pk=chunk.pk).exists()
    assert client_for.get(f"/v1/knowledge/{chunk.pk}").status_code == 404


def test_list_pages_with_a_cursor(client_for, clinic):
    chunks = KnowledgeChunkFactory.create_batch(3, clinic=clinic)

    first = client_for.get("/v1/knowledge", {"limit": 2}).json()
    assert first["hasMore"] is True and len(first["items"]) == 2
    second = client_for.get("/v1/knowledge", {"limit": 2, "cursor": first["nextCursor"]}).json()
    assert second["hasMore"] is False and second["nextCursor"] is None
    seen = [item["id"] for item in first["items"] + second["items"]]
    assert sorted(seen) == sorted(str(chunk.pk) for chunk in chunks)
    assert set(first["items"][0]) >= {"id", "title", "content", "fileId", "position", "status", "embedded",
                                      "createdAt", "updatedAt"}


def test_list_filters_by_file(client_for, clinic):
    from .factories import KnowledgeFileFactory

    document = KnowledgeFileFactory(clinic=clinic)
    from_file = KnowledgeChunkFactory(clinic=clinic, file=document)
    KnowledgeChunkFactory(clinic=clinic)
    items = client_for.get("/v1/knowledge", {"fileId": str(document.pk)}).json()["items"]
    assert [item["id"] for item in items] == [str(from_file.pk)]
    assert items[0]["fileId"] == str(document.pk)


def test_list_takes_the_same_number_of_queries_for_many_chunks(client_for, clinic, django_assert_max_num_queries):
    from django.test.utils import CaptureQueriesContext

    KnowledgeChunkFactory.create_batch(2, clinic=clinic)
    with CaptureQueriesContext(connection) as few:
        assert client_for.get("/v1/knowledge").status_code == 200
    KnowledgeChunkFactory.create_batch(40, clinic=clinic)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client_for.get("/v1/knowledge")
    assert len(response.json()["items"]) == 42
    assert len(few.captured_queries) <= 6


@pytest.mark.parametrize("body, field", [
    ({}, "content"),
    ({"content": "   "}, "content"),
    ({"content": "x" * 4001}, "content"),
    ({"content": "ok", "title": "t" * 201}, "title"),
])
def test_post_with_a_bad_body_is_400_in_the_v1_error_shape(client_for, body, field):
    response = client_for.post("/v1/knowledge", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"]
    assert not KnowledgeChunk.objects.exists()


@pytest.mark.parametrize("body", [{}, {"content": ""}, {"content": None}])
def test_patch_with_a_bad_body_is_400(client_for, clinic, body):
    chunk = KnowledgeChunkFactory(clinic=clinic, content="Unchanged.")
    response = client_for.patch(f"/v1/knowledge/{chunk.pk}", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert KnowledgeChunk.objects.get(pk=chunk.pk).content == "Unchanged."


@pytest.mark.parametrize("params, field", [
    ({"query": "  "}, "query"),
    ({"query": "hours", "limit": "0"}, "limit"),
    ({"query": "hours", "limit": "many"}, "limit"),
    ({"fileId": "not-a-uuid"}, "fileId"),
    ({"cursor": "!!!"}, "cursor"),
])
def test_list_with_bad_parameters_is_400(client_for, params, field):
    response = client_for.get("/v1/knowledge", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_another_clinics_chunk_is_404_on_every_route_and_unchanged(foreign_client, clinic):
    chunk = KnowledgeChunkFactory(clinic=clinic, content="Our own text.")
    url = f"/v1/knowledge/{chunk.pk}"

    for response in (foreign_client.get(url), foreign_client.patch(url, {"content": "Hijacked"}, format="json"),
                     foreign_client.delete(url)):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert KnowledgeChunk.objects.get(pk=chunk.pk).content == "Our own text."
    assert foreign_client.get("/v1/knowledge").json()["items"] == []


def test_a_read_only_key_lists_but_cannot_write(make_client, clinic):
    reader = make_client(clinic, permissions=("read",))
    chunk = KnowledgeChunkFactory(clinic=clinic)
    assert reader.get("/v1/knowledge").status_code == 200
    assert reader.post("/v1/knowledge", {"content": "x"}, format="json").status_code == 403
    assert reader.patch(f"/v1/knowledge/{chunk.pk}", {"content": "x"}, format="json").status_code == 403
    assert reader.delete(f"/v1/knowledge/{chunk.pk}").status_code == 403


def test_the_embedding_column_has_an_hnsw_cosine_index():
    with connection.cursor() as cursor:
        cursor.execute("select indexdef from pg_indexes where tablename = %s and indexname = %s",
                       [KnowledgeChunk._meta.db_table, "knowledge_chunk_embedding_hnsw"])
        row = cursor.fetchone()
    assert row is not None
    assert "USING hnsw" in row[0]
    assert "vector_cosine_ops" in row[0]
    column = next(field for field in KnowledgeChunk._meta.fields if field.name == "embedding")
    assert column.dimensions == 384


def test_search_uses_the_hnsw_index_when_the_planner_has_no_easier_way(clinic):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT id FROM {KnowledgeChunk._meta.db_table} "
                       "ORDER BY embedding <=> %s::vector LIMIT 5", [str([0.1] * 384)])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "knowledge_chunk_embedding_hnsw" in plan


def test_search_within_one_file(client_for, clinic, add_chunk, dashboard_client, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    add_chunk("We are open on Saturdays from 9:00 to 13:00.")
    with django_capture_on_commit_callbacks(execute=True):
        body = dashboard_client.post("/api/agents/knowledge-base/upload", {"file": SimpleUploadedFile(
            "parking.txt", b"Free parking behind the building.")}, format="multipart").json()

    items = client_for.get("/v1/knowledge", {"query": "saturday hours", "fileId": body["id"]}).json()["items"]

    assert [item["fileId"] for item in items] == [body["id"]]
