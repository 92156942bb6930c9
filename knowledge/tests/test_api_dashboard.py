"""The dashboard's knowledge base files (docs/api/dashboard.md): upload of each accepted type, the list, delete,
the size and type limits, and the agent id of the query string."""
import json

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from clinics.selectors import agent_summary
from knowledge.models import KnowledgeChunk, KnowledgeFile

from .documents import make_docx, make_pdf, make_xlsx
from .factories import KnowledgeChunkFactory, KnowledgeFileFactory

pytestmark = pytest.mark.django_db

SATURDAY = "We are open on Saturdays from 9:00 to 13:00."
UPLOAD_FIELDS = {"id", "filename", "file_size", "file_type", "storage_url", "uploaded_at", "processed", "status",
                 "failure_reason"}
LIST_FIELDS = {"id", "filename", "file_size", "file_type", "uploaded_at", "processed", "status", "failure_reason"}

FORMATS = {
    "txt": ("hours.txt", SATURDAY.encode() + b"\n\nParking is behind the building.\n", "text/plain", SATURDAY),
    "csv": ("prices.csv", b"Service,Price\nCleaning,60\nWhitening,250\n", "text/csv",
            "Service: Cleaning; Price: 60"),
    "json": ("faq.json", json.dumps({"faq": [{"question": "When do you open on Saturday?", "answer": "9:00 to 13:00"},
                                             {"question": "Parking?", "answer": "Behind the building"}]}).encode(),
             "application/json", "question: When do you open on Saturday?\nanswer: 9:00 to 13:00"),
    "docx": ("hours.docx", make_docx(["Opening hours", SATURDAY]),
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document", SATURDAY),
    "xlsx": ("prices.xlsx", make_xlsx([["Service", "Price"], ["Cleaning", 60], ["Whitening", 250]]),
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Service: Whitening; Price: 250"),
    "pdf": ("hours.pdf", make_pdf(["Opening hours", SATURDAY]), "application/pdf", SATURDAY),
}


def upload(client, clinic, name, data, content_type="application/octet-stream", agent_id=None):
    agent_id = agent_summary(clinic)["agent_id"] if agent_id is None else agent_id
    return client.post(f"/api/agents/knowledge-base/upload?agent_id={agent_id}",
                       {"file": SimpleUploadedFile(name, data, content_type=content_type)}, format="multipart")


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_upload_of_each_format_is_stored_chunked_and_embedded(kind, dashboard_client, clinic,
                                                              django_capture_on_commit_callbacks):
    name, data, mime, phrase = FORMATS[kind]
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(dashboard_client, clinic, name, data)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == UPLOAD_FIELDS
    assert body["filename"] == name and body["file_size"] == len(data) and body["file_type"] == mime
    assert body["processed"] is False and body["status"] == "pending"  # read by a worker, after the request
    assert body["storage_url"].startswith("http://testserver/")
    document = KnowledgeFile.objects.get(pk=body["id"])
    assert document.clinic == clinic
    assert default_storage.open(document.file.name).read() == data

    chunks = list(KnowledgeChunk.objects.filter(file=document).order_by("position"))
    assert chunks and phrase in "\n".join(chunk.content for chunk in chunks)
    assert all(chunk.embedding is not None for chunk in chunks)
    listed = dashboard_client.get(f"/api/agents/knowledge-base/files?agent_id={agent_summary(clinic)['agent_id']}")
    assert listed.status_code == 200
    assert listed.json() == [{**{key: body[key] for key in LIST_FIELDS}, "processed": True, "status": "parsed"}]


def test_uploaded_text_is_found_by_search(dashboard_client, client_for, clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload(dashboard_client, clinic, *FORMATS["docx"][:2])
        upload(dashboard_client, clinic, *FORMATS["xlsx"][:2])
    top = client_for.get("/v1/knowledge", {"query": "what time do you open on saturday"}).json()["items"][0]
    assert SATURDAY in top["content"]
    assert top["fileId"] == str(KnowledgeFile.objects.get(filename="hours.docx").pk)


def test_a_long_document_is_cut_into_overlapping_chunks_on_sentence_boundaries(
        dashboard_client, clinic, django_capture_on_commit_callbacks):
    sentences = [f"Fact number {n} about the clinic is written here in one sentence." for n in range(60)]
    text = "\n\n".join(" ".join(sentences[start:start + 6]) for start in range(0, 60, 6))
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(dashboard_client, clinic, "facts.txt", text.encode())
    chunks = [chunk.content for chunk in KnowledgeChunk.objects.filter(file_id=response.json()["id"])
              .order_by("position")]

    assert len(chunks) >= 4
    assert all(len(chunk) <= 800 for chunk in chunks)
    assert all(chunk.endswith(".") and chunk.startswith("Fact number") for chunk in chunks)
    for previous, following in zip(chunks, chunks[1:]):
        first_sentence = following.split(". ")[0].split("\n")[0] + "."
        assert first_sentence in previous, "each chunk starts with the tail of the one before"
    assert all(sentence in "".join(chunks) for sentence in sentences)
    assert KnowledgeFile.objects.get(pk=response.json()["id"]).processed


def test_processed_stays_false_until_every_chunk_is_embedded(dashboard_client, clinic,
                                                             django_capture_on_commit_callbacks, settings):
    settings.KNOWLEDGE_CHUNK_CHARS = 100
    text = " ".join(f"Sentence {n} is here." for n in range(40)).encode()
    with django_capture_on_commit_callbacks() as parsing:
        response = upload(dashboard_client, clinic, "many.txt", text)
    with django_capture_on_commit_callbacks() as embedding:
        for callback in parsing:
            callback()
    document = KnowledgeFile.objects.get(pk=response.json()["id"])
    assert KnowledgeChunk.objects.filter(file=document).count() > 1
    KnowledgeChunk.objects.filter(file=document).update(embedding=[0.1] * 384, embedding_model="local:other")
    assert not KnowledgeFile.objects.get(pk=document.pk).processed
    for callback in embedding:
        callback()
    assert KnowledgeFile.objects.get(pk=document.pk).processed


def test_upload_over_the_size_limit_is_413_while_streaming(dashboard_client, clinic, settings):
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 1000
    response = upload(dashboard_client, clinic, "big.txt", b"a" * 1500)
    assert response.status_code == 413
    assert response.json()["detail"] == "Payload too large"
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert not KnowledgeFile.objects.exists()


def test_upload_declared_over_the_limit_is_413_before_the_body_is_read(dashboard_client, clinic, settings):
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 1000
    response = upload(dashboard_client, clinic, "big.txt", b"a" * 200_000)
    assert response.status_code == 413
    assert response.json()["errors"]["limit_bytes"] == 1000
    assert not KnowledgeFile.objects.exists()


@pytest.mark.parametrize("name, mime", [("photo.png", "image/png"), ("setup.exe", "application/octet-stream"),
                                         ("notes.rtf", "application/rtf"), ("no-extension", "image/jpeg")])
def test_unsupported_type_is_415(dashboard_client, clinic, name, mime):
    response = upload(dashboard_client, clinic, name, b"\x89PNG....", mime)
    assert response.status_code == 415
    assert response.json()["code"] == "UNSUPPORTED_FILE_TYPE"
    assert "PDF, DOCX, TXT, CSV, JSON or XLSX" in response.json()["detail"]


def test_an_empty_file_is_400_and_nothing_is_stored(dashboard_client, clinic):
    response = upload(dashboard_client, clinic, "empty.txt", b"")
    assert response.status_code == 400
    assert response.json()["code"] == "EMPTY_FILE" and response.json()["detail"]
    assert not KnowledgeFile.objects.exists()
    assert not default_storage.exists("knowledge") or default_storage.listdir(f"knowledge/{clinic.pk}") == ([], [])


@pytest.mark.parametrize("name, data, reason", [
    ("blank.txt", b"   \n\n  ", "No text could be read"),
    ("broken.docx", b"this is not a zip archive", "damaged"),
    ("broken.xlsx", make_docx(["a word file named as a spreadsheet"]), "damaged"),
    ("broken.pdf", b"%PDF-1.4 garbage without objects", "PDF could not be read"),
    ("fake.pdf", b"plain text named as a PDF", "damaged"),
    ("broken.json", b"{not json", "not valid JSON"),
    ("binary.txt", b"\x00\x01\x02\x03binary", "not text"),
])
def test_an_unreadable_file_is_stored_then_fails_with_the_reason(dashboard_client, clinic, name, data, reason,
                                                                  django_capture_on_commit_callbacks):
    """The request stores the file; the worker that reads it marks it failed, with the reason, and keeps no chunk
    (issue 12 item 9: documents are read off the request path)."""
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(dashboard_client, clinic, name, data)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "pending"

    listed = dashboard_client.get(f"/api/agents/knowledge-base/files?agent_id={agent_summary(clinic)['agent_id']}")
    [document] = listed.json()
    assert document["status"] == "failed" and document["processed"] is False
    assert reason in document["failure_reason"]
    assert not KnowledgeChunk.objects.exists()


def test_docx_with_an_xml_entity_declaration_fails(dashboard_client, clinic, django_capture_on_commit_callbacks):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><d>&a;</d>')
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(dashboard_client, clinic, "bomb.docx", buffer.getvalue())
    document = KnowledgeFile.objects.get(pk=response.json()["id"])
    assert document.status == "failed" and "XML that is not accepted" in document.failure_reason
    assert not KnowledgeChunk.objects.exists()


def test_upload_without_a_file_is_400(dashboard_client, clinic):
    response = dashboard_client.post("/api/agents/knowledge-base/upload", {"other": "x"}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"detail": "Send the document as the multipart field 'file'.", "code": "FILE_REQUIRED",
                               "errors": {"file": ["This field is required."]}}


def test_upload_as_json_is_415(dashboard_client):
    response = dashboard_client.post("/api/agents/knowledge-base/upload", {"file": "x"}, format="json")
    assert response.status_code == 415
    assert "detail" in response.json()


@pytest.mark.parametrize("agent_id", ["", "agent_clinic_receptionist", "provider-agent-77"])
def test_the_clinics_own_agent_in_any_spelling_is_accepted(dashboard_client, clinic, agent_id,
                                                           django_capture_on_commit_callbacks):
    clinic.voice_settings = {"agent_id": "provider-agent-77"}
    clinic.save()
    response = upload(dashboard_client, clinic, "a.txt", b"Some text.", agent_id=agent_id)
    assert response.status_code == 200
    listed = dashboard_client.get("/api/agents/knowledge-base/files", {"agent_id": agent_id})
    assert [row["id"] for row in listed.json()] == [response.json()["id"]]


def test_the_telephony_agent_id_is_accepted(dashboard_client, clinic):
    response = upload(dashboard_client, clinic, "a.txt", b"Some text.", agent_id=agent_summary(clinic)["agent_id"])
    assert response.status_code == 200


def test_another_clinics_agent_id_is_404_on_every_route(dashboard_client, clinic, other_clinic):
    other_clinic.voice_settings = {"agent_id": "provider-agent-of-b"}
    other_clinic.save()
    document = KnowledgeFileFactory(clinic=clinic)
    for agent_id in ("provider-agent-of-b", agent_summary(other_clinic)["agent_id"]):
        responses = [
            upload(dashboard_client, clinic, "a.txt", b"Some text.", agent_id=agent_id),
            dashboard_client.get("/api/agents/knowledge-base/files", {"agent_id": agent_id}),
            dashboard_client.delete(f"/api/agents/knowledge-base/{document.pk}?agent_id={agent_id}"),
        ]
        for response in responses:
            assert response.status_code == 404
            assert response.json() == {"detail": "Agent not found", "code": "AGENT_NOT_FOUND"}
    assert KnowledgeFile.objects.filter(clinic=clinic).count() == 1


def test_another_clinics_file_is_404_and_kept(foreign_dashboard_client, clinic, other_clinic):
    document = KnowledgeFileFactory(clinic=clinic)
    chunk = KnowledgeChunkFactory(clinic=clinic, file=document)

    response = foreign_dashboard_client.delete(f"/api/agents/knowledge-base/{document.pk}")
    assert response.status_code == 404
    assert response.json()["detail"]
    assert KnowledgeChunk.objects.filter(pk=chunk.pk).exists()
    listed = foreign_dashboard_client.get(f"/api/agents/knowledge-base/files?agent_id="
                                          f"{agent_summary(other_clinic)['agent_id']}")
    assert listed.json() == []


def test_delete_removes_the_file_its_chunks_and_the_stored_document(dashboard_client, clinic,
                                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        body = upload(dashboard_client, clinic, *FORMATS["txt"][:2]).json()
    stored = KnowledgeFile.objects.get(pk=body["id"]).file.name
    assert default_storage.exists(stored)

    with django_capture_on_commit_callbacks(execute=True):
        response = dashboard_client.delete(f"/api/agents/knowledge-base/{body['id']}")

    assert response.status_code == 200
    assert response.json() == {"message": "File deleted successfully"}
    assert not KnowledgeFile.objects.exists() and not KnowledgeChunk.objects.exists()
    assert not default_storage.exists(stored)
    assert dashboard_client.delete(f"/api/agents/knowledge-base/{body['id']}").status_code == 404


def test_the_plan_limits_the_number_of_files(dashboard_client, clinic):
    KnowledgeFileFactory.create_batch(5, clinic=clinic)
    response = upload(dashboard_client, clinic, "sixth.txt", b"One more.")
    assert response.status_code == 403
    assert response.json()["code"] == "PLAN_LIMIT_REACHED"


def test_a_viewer_can_list_but_not_upload_or_delete(clinic):
    from rest_framework.test import APIClient

    from clinics import services
    from clinics.tests.factories import MembershipFactory

    viewer = APIClient()
    viewer.credentials(HTTP_AUTHORIZATION="Bearer " + services.start_session(
        MembershipFactory(clinic=clinic, role="viewer"))["access_token"])
    document = KnowledgeFileFactory(clinic=clinic)
    assert viewer.get("/api/agents/knowledge-base/files").status_code == 200
    assert upload(viewer, clinic, "a.txt", b"text").status_code == 403
    assert viewer.delete(f"/api/agents/knowledge-base/{document.pk}").status_code == 403


def test_without_credentials_every_route_is_401(api_client, clinic):
    document = KnowledgeFileFactory(clinic=clinic)
    assert api_client.get("/api/agents/knowledge-base/files").status_code == 401
    assert upload(api_client, clinic, "a.txt", b"text").status_code == 401
    assert api_client.delete(f"/api/agents/knowledge-base/{document.pk}").status_code == 401
    assert api_client.get("/v1/knowledge").status_code == 401


def test_file_list_takes_the_same_number_of_queries_for_many_files(dashboard_client, clinic,
                                                                    django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    KnowledgeFileFactory(clinic=clinic)
    with CaptureQueriesContext(connection) as few:
        assert dashboard_client.get("/api/agents/knowledge-base/files").status_code == 200
    KnowledgeFileFactory.create_batch(30, clinic=clinic)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(dashboard_client.get("/api/agents/knowledge-base/files").json()) == 31


def test_a_write_stands_when_the_embedding_cannot_be_queued(client_for, settings, django_capture_on_commit_callbacks):
    """The model is unusable (here: a wrong model path); the chunk is kept, pending, for a later re-queue."""
    settings.KNOWLEDGE_EMBEDDING_MODEL_PATH = "/nonexistent/model"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for.post("/v1/knowledge", {"content": "Kept even so."}, format="json")
    assert response.status_code == 201
    assert KnowledgeChunk.objects.get(pk=response.json()["id"]).embedding is None


# --- storage_url: a signed, expiring download link (docs/api/dashboard.md, Knowledge base)
def _path(url):
    return url.removeprefix("http://testserver")


def test_storage_url_downloads_the_uploaded_file_without_a_credential(dashboard_client, clinic):
    from rest_framework.test import APIClient

    name, data = FORMATS["pdf"][:2]
    body = upload(dashboard_client, clinic, name, data).json()

    response = APIClient().get(_path(body["storage_url"]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Disposition"] == 'attachment; filename="hours.pdf"'


def test_storage_url_stops_working_after_an_hour(dashboard_client, clinic, monkeypatch):
    import time

    from rest_framework.test import APIClient

    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 61 * 60)
    stale = upload(dashboard_client, clinic, *FORMATS["txt"][:2]).json()["storage_url"]
    monkeypatch.setattr(time, "time", real_time)

    response = APIClient().get(_path(stale))

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


def test_a_forged_storage_url_is_404(dashboard_client, clinic):
    from rest_framework.test import APIClient

    url = upload(dashboard_client, clinic, *FORMATS["txt"][:2]).json()["storage_url"]
    token = url.rstrip("/").rsplit("/", 1)[1]
    document_id = KnowledgeFile.objects.get().id

    for forged in (token[:-4] + "abcd", f"{clinic.id}:{document_id}:1abcde:forged", "nothing"):
        response = APIClient().get(f"/api/agents/knowledge-base/download/{forged}")
        assert response.status_code == 404
        assert response.json()["code"] == "NOT_FOUND"


def test_a_link_signed_for_another_clinic_does_not_reach_this_clinics_file(dashboard_client, clinic, other_clinic):
    from rest_framework.test import APIClient

    from knowledge.downloads import file_download_token

    document = KnowledgeFile.objects.get(pk=upload(dashboard_client, clinic, *FORMATS["txt"][:2]).json()["id"])
    borrowed = KnowledgeFile(id=document.id, clinic=other_clinic)

    theirs = APIClient().get(f"/api/agents/knowledge-base/download/{file_download_token(borrowed)}")
    own = APIClient().get(f"/api/agents/knowledge-base/download/{file_download_token(document)}")

    assert theirs.status_code == 404
    assert own.status_code == 200


def test_storage_url_of_a_deleted_file_is_404(dashboard_client, clinic):
    from rest_framework.test import APIClient

    body = upload(dashboard_client, clinic, *FORMATS["txt"][:2]).json()
    agent_id = agent_summary(clinic)["agent_id"]
    assert dashboard_client.delete(f"/api/agents/knowledge-base/{body['id']}?agent_id={agent_id}").status_code == 200

    assert APIClient().get(_path(body["storage_url"])).status_code == 404
