"""knowledge/filters.py: one FilterSet per resource, the same rows from the API and the console page for the same
filter, and `search` matching the start of words as staff type them ("hou" finds "Opening hours")."""
import pytest

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory
from knowledge import selectors
from knowledge.filters import KnowledgeChunkFilterSet
from knowledge.models import KnowledgeFile

from .factories import KnowledgeChunkFactory, KnowledgeFileFactory

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def console(client, clinic):
    client.force_login(MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR).user)
    return client


@pytest.fixture
def knowledge(clinic, other_clinic):
    hours = KnowledgeFileFactory(clinic=clinic, filename="opening-hours.docx", status=KnowledgeFile.Status.PARSED)
    prices = KnowledgeFileFactory(clinic=clinic, filename="Price list 2026.pdf", status=KnowledgeFile.Status.FAILED)
    rows = {
        "saturday": KnowledgeChunkFactory(clinic=clinic, file=hours, title="Opening hours",
                                          content="On Saturdays we open from 9:00 to 13:00."),
        "weekdays": KnowledgeChunkFactory(clinic=clinic, file=hours, position=1,
                                          content="Monday to Friday, 8:00 to 20:00."),
        "maria": KnowledgeChunkFactory(clinic=clinic, title="Team", content="Dr. Maria Sousa sees children."),
        "parking": KnowledgeChunkFactory(clinic=clinic, content="Free parking behind the building (Marmelos St)."),
    }
    KnowledgeChunkFactory(clinic=other_clinic, content="Maria of another clinic, open on Saturdays.")
    return {"hours": hours, "prices": prices, **rows}


def names(knowledge, ids):
    by_id = {str(row.pk): name for name, row in knowledge.items()}
    return sorted(by_id.get(str(pk), f"foreign:{pk}") for pk in ids)


def api_chunks(client_for, params):
    return [item["id"] for item in client_for.get("/v1/knowledge", params).json()["items"]]


def console_chunks(console, params):
    return [chunk.pk for chunk in console.get("/knowledge/", params).context["chunks"]]


@pytest.mark.parametrize("params, expected", [
    ({"search": "Mar"}, ["maria", "parking"]),             # the start of "Maria" and of "Marmelos"
    ({"search": "mar sou"}, ["maria"]),                      # every word typed, any order, case ignored
    ({"search": "hou"}, ["saturday"]),                      # the title counts: "Opening hours"
    ({"search": "aria"}, []),                               # the middle of a word is not its start
    ({"search": "9:00"}, ["saturday"]),
    ({"search": "(Marmelos"}, []),                          # typed punctuation is text, never a pattern
    ({"status": "pending"}, ["maria", "parking", "saturday", "weekdays"]),
    ({"status": "embedded"}, []),
    ({"fileId": "hours"}, ["saturday", "weekdays"]),
    ({"fileId": "hours", "search": "mon"}, ["weekdays"]),
])
def test_the_api_and_the_console_list_the_same_passages_for_a_filter(client_for, console, knowledge, params,
                                                                    expected):
    params = {key: str(knowledge[value].pk) if key == "fileId" else value for key, value in params.items()}

    from_api = names(knowledge, api_chunks(client_for, params))
    from_console = names(knowledge, console_chunks(console, params))

    assert from_api == from_console == expected


def test_an_embedded_passage_moves_between_the_status_filters_on_both_surfaces(client_for, console, knowledge):
    from knowledge import services

    services.chunks_embed(chunk_ids=[knowledge["maria"].pk])
    for params, expected in (({"status": "embedded"}, ["maria"]),
                             ({"status": "pending"}, ["parking", "saturday", "weekdays"])):
        assert names(knowledge, api_chunks(client_for, params)) == expected
        assert names(knowledge, console_chunks(console, params)) == expected


@pytest.mark.parametrize("params, expected", [
    ({"search": "hou"}, ["hours"]),          # "opening-hours.docx": a word after the hyphen
    ({"search": "pri 20"}, ["prices"]),
    ({"status": "failed"}, ["prices"]),
    ({"status": "parsed", "search": "open"}, ["hours"]),
    ({"search": "list.pdf"}, []),
])
def test_the_api_and_the_console_list_the_same_documents_for_a_filter(dashboard_client, console, knowledge, params,
                                                                     expected):
    from_api = [row["id"] for row in dashboard_client.get("/api/agents/knowledge-base/files", params).json()]
    page = console.get("/knowledge/", {f"files-{key}": value for key, value in params.items()})
    from_console = [document.pk for document in page.context["files"]]

    assert names(knowledge, from_api) == names(knowledge, from_console) == expected


def test_a_bad_filter_is_400_on_the_api_and_an_explained_empty_list_on_the_console(client_for, console, knowledge):
    response = client_for.get("/v1/knowledge", {"status": "done"})
    assert response.status_code == 400 and "status" in response.json()["error"]["details"]

    page = console.get("/knowledge/", {"status": "done"})
    assert list(page.context["chunks"]) == []
    assert "Select a valid choice" in page.content.decode()


def test_the_filterset_keeps_to_the_queryset_it_is_given(clinic, other_clinic, knowledge):
    rows = KnowledgeChunkFilterSet({"search": "maria"}, queryset=selectors.chunks_for(clinic)).qs
    assert [row.pk for row in rows] == [knowledge["maria"].pk]


def test_the_console_lists_filtered_passages_in_a_bounded_number_of_queries(console, clinic, knowledge,
                                                                           django_assert_max_num_queries):
    for n in range(20):
        KnowledgeChunkFactory(clinic=clinic, file=knowledge["hours"], position=10 + n, content=f"Mardi {n}.")
    with django_assert_max_num_queries(14):
        page = console.get("/knowledge/", {"search": "mar"})
    assert len(page.context["chunks"]) == 22
