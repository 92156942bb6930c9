"""The `openai` embeddings backend: the official SDK against a local fake of the OpenAI API, so the exact
request it sends (model, 384 dimensions, the texts) is checked and the vectors it gets back are searched."""
import base64
import json
import math
import re
import struct

import pytest
from werkzeug import Response

from knowledge.embeddings import EMBEDDINGS, EmbeddingError
from knowledge.models import KnowledgeChunk

pytestmark = pytest.mark.django_db


def bag_of_words(text: str) -> list[float]:
    """A stand-in model: words hashed into 384 buckets, normalised; texts sharing words are close."""
    vector = [0.0] * 384
    for word in re.findall(r"[a-z]+", text.lower()):
        vector[sum(map(ord, word)) * 31 % 384] += 1.0
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return [value / norm for value in vector]


@pytest.fixture
def openai_fake(httpserver, settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "embeddings": "openai"}
    settings.OPENAI_BASE_URL = httpserver.url_for("/v1")
    settings.OPENAI_API_KEY = "sk-test-knowledge"
    settings.OPENAI_EMBEDDING_MODEL = "text-embedding-3-small"
    requests = []

    def embeddings(request):
        body = json.loads(request.data)
        requests.append({"body": body, "authorization": request.headers.get("Authorization")})
        data = []
        for index, text in enumerate(body["input"]):
            vector = bag_of_words(text)[: body.get("dimensions", 384)]
            if body.get("encoding_format") == "base64":
                vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        return Response(json.dumps({"object": "list", "data": data, "model": body["model"],
                                    "usage": {"prompt_tokens": 5, "total_tokens": 5}}),
                        content_type="application/json")

    httpserver.expect_request("/v1/embeddings", method="POST").respond_with_handler(embeddings)
    httpserver.requests_seen = requests
    return httpserver


def test_chunks_are_embedded_and_searched_through_the_openai_api(openai_fake, client_for,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        saturday = client_for.post("/v1/knowledge", {"content": "Open on saturday morning until noon."},
                                   format="json").json()
        client_for.post("/v1/knowledge", {"title": "Parking", "content": "Cars park behind the building."},
                        format="json")

    first, second = openai_fake.requests_seen[:2]
    assert first["authorization"] == "Bearer sk-test-knowledge"
    assert first["body"]["model"] == "text-embedding-3-small"
    assert first["body"]["dimensions"] == 384
    assert first["body"]["input"] == ["Open on saturday morning until noon."]
    assert second["body"]["input"] == ["Parking\nCars park behind the building."]
    chunk = KnowledgeChunk.objects.get(pk=saturday["id"])
    assert chunk.embedding_model == "openai:text-embedding-3-small:384"
    assert list(chunk.embedding) == pytest.approx(bag_of_words("Open on saturday morning until noon."), abs=1e-6)

    response = client_for.get("/v1/knowledge", {"query": "are you open on saturday"})

    assert openai_fake.requests_seen[-1]["body"]["input"] == ["are you open on saturday"]
    items = response.json()["items"]
    assert items[0]["id"] == saturday["id"]
    assert items[0]["embeddingModel"] == "openai:text-embedding-3-small:384"
    assert items[0]["score"] > items[1]["score"]


def test_many_texts_are_sent_in_batches_and_kept_in_order(openai_fake):
    texts = [f"text number {n} " + "word " * (n % 5) for n in range(130)]
    vectors = EMBEDDINGS.backend().embed_documents(texts)
    assert [len(request["body"]["input"]) for request in openai_fake.requests_seen] == [96, 34]
    assert vectors[100] == pytest.approx(bag_of_words(texts[100]), abs=1e-6)


def test_a_refusal_of_the_api_is_an_embedding_error(httpserver, settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "embeddings": "openai"}
    settings.OPENAI_BASE_URL = httpserver.url_for("/v1")
    httpserver.expect_request("/v1/embeddings", method="POST").respond_with_json(
        {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                   "code": "invalid_api_key"}}, status=401)

    with pytest.raises(EmbeddingError, match="Incorrect API key"):
        EMBEDDINGS.backend().embed_documents(["hello"])


def test_a_vector_of_the_wrong_size_is_refused(httpserver, settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "embeddings": "openai"}
    settings.OPENAI_BASE_URL = httpserver.url_for("/v1")
    httpserver.expect_request("/v1/embeddings", method="POST").respond_with_json(
        {"object": "list", "model": "m", "usage": {"prompt_tokens": 1, "total_tokens": 1},
         "data": [{"object": "embedding", "index": 0, "embedding": [0.5] * 1536}]})

    with pytest.raises(EmbeddingError, match="1536 dimensions"):
        EMBEDDINGS.backend().embed_documents(["hello"])
