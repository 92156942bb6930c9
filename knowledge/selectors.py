"""Reads of the knowledge base: the clinic's chunks and files, semantic and hybrid search over the chunks, and
answers (the passage that answers a question, or NO_ANSWER)."""
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Case, QuerySet, Value, When
from pgvector.django import CosineDistance

from clinics import extensions

from .chunking import heading_of
from .embeddings import EMBEDDINGS
from .models import KnowledgeChunk, KnowledgeFile

MAX_RESULTS = 50
# Candidates the HNSW scan keeps (pgvector's `hnsw.ef_search`), set per query with SET LOCAL semantics. At 100,000
# chunks (bench/knowledge_search.py, two builds each) the index as first built (m=16, ef_construction=64) gave
# recall@10 0.68-0.73 at pgvector's default of 40, 0.94-0.97 at 200, 0.967-0.990 at 300 and 0.969-0.991 at 400,
# one build leaving queries at 0/10 at every ef_search: its graph, not the scan, was short. Rebuilt with
# ef_construction=200 (migration 0003): 0.986-0.987 at 100, 0.989 at 200 in three builds (every query >= 8/10),
# 0.992-0.993 at 300. 200 keeps a margin over the 0.98 target for 0.1-3 ms more than 100 in the same runs.
DEFAULT_EF_SEARCH = 200


def ef_search(k: int) -> int:
    """The `hnsw.ef_search` a search for `k` chunks runs with: settings.KNOWLEDGE_HNSW_EF_SEARCH, at least 2k."""
    configured = int(getattr(settings, "KNOWLEDGE_HNSW_EF_SEARCH", DEFAULT_EF_SEARCH) or DEFAULT_EF_SEARCH)
    return max(1, min(configured, 1000), 2 * k)


def current_model_id() -> str:
    """The model id that chunks must be embedded with to be searched (the configured backend's)."""
    return EMBEDDINGS.backend().model_id


def chunks_for(clinic, file_id=None) -> QuerySet:
    """The clinic's chunks, without their vectors, annotated `is_embedded` (has a vector of the current model)."""
    chunks = (KnowledgeChunk.objects.for_clinic(clinic).defer("embedding")
              .annotate(is_embedded=Case(When(embedding__isnull=False, embedding_model=current_model_id(),
                                              then=Value(True)), default=Value(False), output_field=BooleanField())))
    if file_id is not None:
        chunks = chunks.filter(file_id=file_id)
    return chunks


def files_for(clinic) -> QuerySet:
    """The clinic's uploaded files, newest first."""
    return KnowledgeFile.objects.for_clinic(clinic).order_by("-uploaded_at", "id")


# What a page shows of a file or chunk while the worker reads and embeds it: processing, then ready (or failed).
PROCESSING, READY, FAILED = "processing", "ready", "failed"
MAX_STATUS_IDS = 100


def file_state(document) -> str:
    if document.status == KnowledgeFile.Status.FAILED:
        return FAILED
    return READY if document.processed else PROCESSING


def chunk_state(chunk) -> str:
    return READY if chunk.is_embedded else PROCESSING


def states_of(clinic, *, file_ids, chunk_ids) -> tuple[list, list] | None:
    """The clinic's files and chunks of these ids (the ones a page polls while they are processing), or None when
    one of them is not the clinic's (or no longer exists)."""
    file_ids, chunk_ids = set(file_ids), set(chunk_ids)
    files = list(files_for(clinic).filter(pk__in=file_ids).only("id", "status", "processed", "failure_reason"))
    chunks = list(chunks_for(clinic).filter(pk__in=chunk_ids).only("id", "embedding_model"))
    if len(files) != len(file_ids) or len(chunks) != len(chunk_ids):
        return None
    return files, chunks


def search(clinic, query: str, k: int = 5, file_id=None) -> list[KnowledgeChunk]:
    """The clinic's `k` chunks closest in meaning to `query` (optionally only those of one file), best first, each
    with `distance` (cosine) and `score` (1 - distance: 1 is the same meaning). Only chunks embedded by the
    configured model take part."""
    query = (query or "").strip()
    k = max(1, min(int(k), MAX_RESULTS))
    if not query:
        return []
    backend = EMBEDDINGS.backend()
    return nearest_chunks(clinic, backend.embed_query(query), k=k, model_id=backend.model_id, file_id=file_id)


def nearest_chunks(clinic, vector, *, k: int, model_id: str, file_id=None, ef: int | None = None) -> list:
    """The clinic's `k` chunks of `model_id` nearest to `vector` (cosine), best first, with `distance` and `score`.

    Runs in its own transaction so that the HNSW settings stay local to it: `hnsw.ef_search` (`ef`, else
    `ef_search(k)`) and an iterative scan, since the index is shared by all clinics."""
    chunks = (KnowledgeChunk.objects.for_clinic(clinic).filter(embedding__isnull=False, embedding_model=model_id)
              .defer("embedding")
              .annotate(distance=CosineDistance("embedding", vector), is_embedded=Value(True))
              .order_by("distance", "id"))
    if file_id is not None:
        chunks = chunks.filter(file_id=file_id)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The HNSW index is shared by all clinics: keep scanning it until `k` rows of this clinic are found.
            # Both settings local to the transaction, in one round trip.
            cursor.execute("SELECT set_config('hnsw.iterative_scan', 'strict_order', true), "
                           "set_config('hnsw.ef_search', %s, true)", [str(ef or ef_search(k))])
        results = list(chunks[:k])
    for chunk in results:
        chunk.score = round(1.0 - float(chunk.distance), 6)
    return results


def agent_of_another_clinic(clinic, agent_id: str) -> bool:
    """True when `agent_id` names another clinic's phone agent (the dashboard answers 404 then). Phone agents
    belong to telephony, which answers through `clinics.extensions`; knowledge takes the id as plain data."""
    return extensions.agent_of_another_clinic(clinic, (agent_id or "").strip())


# --- Hybrid retrieval and answers -------------------------------------------------------------------------------

# PostgreSQL text-search configurations by language code; any other language (or none) uses `simple`: no stemming,
# no stop words, which still matches names, numbers and exact words.
TEXT_SEARCH_CONFIGS = {"en": "english", "pt": "portuguese", "fr": "french", "es": "spanish"}
# Candidates each retriever brings before fusion, and the reciprocal-rank-fusion constant (Cormack et al.'s 60).
CANDIDATES = 20
RRF_K = 60
# The full-text ranking counts for this much of the vector ranking in the fusion. On bench/knowledge.py's FAQ every
# weight above 0 lowered hit@1 (en 20 -> 19 at 0.1, 18 at 0.25-1.0; pt 8 -> 7 at 0.1, 6 at 0.5): multilingual-e5
# already finds the section, and words only flip near-ties the wrong way. So the order is the vector search's and
# the full-text match is used where it does help, in the confidence of `answer` (a chunk that shares telling words
# with the question). Raise it for knowledge bases of codes and names, where words beat meaning.
LEXICAL_WEIGHT = 0.0


def text_search_config(language: str | None) -> str:
    """The PostgreSQL text-search configuration for a language code such as `pt-PT` or `en`."""
    code = re.split(r"[-_]", (language or "").strip().lower())[0]
    return TEXT_SEARCH_CONFIGS.get(code, "simple")


# A word of the question found in more than this share of the clinic's chunks says nothing about which one answers
# ("clinic", "doctor", "appointment"): it is left out of the full-text query, as a zero inverse document frequency.
MAX_WORD_SHARE = 0.2

_LEXICAL_SQL = """
WITH docs AS MATERIALIZED (
    SELECT id, to_tsvector(%(config)s::regconfig, title || ' ' || content) AS words
    FROM knowledge_knowledgechunk
    WHERE clinic_id = %(clinic)s AND embedding IS NOT NULL AND embedding_model = %(model)s
), asked AS (
    SELECT DISTINCT lexeme FROM unnest(to_tsvector(%(config)s::regconfig, %(question)s))
), telling AS (
    SELECT string_agg(quote_literal(asked.lexeme), ' | ')::tsquery AS query
    FROM asked
    WHERE (SELECT count(*) FROM docs WHERE docs.words @@ quote_literal(asked.lexeme)::tsquery)
          <= greatest(1, %(share)s * (SELECT count(*) FROM docs))
)
SELECT docs.id, ts_rank_cd(docs.words, telling.query) AS rank
FROM docs, telling
WHERE telling.query IS NOT NULL AND docs.words @@ telling.query
ORDER BY rank DESC, docs.id
LIMIT %(k)s
"""


def lexical_chunks(clinic, query: str, vector, *, k: int, model_id: str, language: str | None = None) -> list:
    """The clinic's `k` chunks of `model_id` that share telling words with `query` (PostgreSQL full text in the
    language's configuration; any word of the question found in at most MAX_WORD_SHARE of the chunks), ranked by
    `ts_rank_cd`, best first, each with `lexical` (the rank) and `distance`/`score` to `vector`."""
    with connection.cursor() as cursor:
        cursor.execute(_LEXICAL_SQL, {"config": text_search_config(language), "clinic": clinic.pk, "model": model_id,
                                      "question": query, "share": MAX_WORD_SHARE, "k": k})
        ranks = dict(cursor.fetchall())
    if not ranks:
        return []
    # `ranks` holds ids the SQL read from this clinic's chunks only (`clinic_id = %(clinic)s`).
    chunks = {chunk.pk: chunk for chunk in KnowledgeChunk.objects.filter(pk__in=list(ranks))
              .defer("embedding").annotate(distance=CosineDistance("embedding", vector), is_embedded=Value(True))}
    results = [chunks[pk] for pk in ranks if pk in chunks]
    for chunk in results:
        chunk.lexical = float(ranks[chunk.pk])
        chunk.score = round(1.0 - float(chunk.distance), 6)
    return results


def hybrid_search(clinic, query: str, *, k: int = 5, language: str | None = None, vector=None) -> list:
    """The clinic's `k` best chunks for `query`: the nearest by meaning (pgvector) and the best by words
    (PostgreSQL full text in `language`), fused by reciprocal rank. Each chunk has `score` (cosine similarity to
    the query), `fused` (the fusion score) and `matched_words` (whether full text found it). Best first."""
    query = (query or "").strip()
    k = max(1, min(int(k), MAX_RESULTS))
    if not query:
        return []
    return _retrieve(clinic, query, k=k, language=language, vector=vector)[0]


def _retrieve(clinic, query: str, *, k: int, language: str | None, vector=None) -> tuple[list, list]:
    """The fused `k` best chunks and the vector search's candidates (for the confidence of `answer`)."""
    backend = EMBEDDINGS.backend()
    vector = vector if vector is not None else backend.embed_query(query)
    candidates = max(CANDIDATES, k)
    dense = nearest_chunks(clinic, vector, k=candidates, model_id=backend.model_id)
    lexical = lexical_chunks(clinic, query, vector, k=candidates, model_id=backend.model_id, language=language)
    fused: dict = {}
    for ranking, weight in ((dense, 1.0), (lexical, LEXICAL_WEIGHT)):
        for rank, chunk in enumerate(ranking, start=1):
            kept = fused.setdefault(chunk.pk, chunk)
            kept.fused = getattr(kept, "fused", 0.0) + weight / (RRF_K + rank)
    for chunk in lexical:
        fused[chunk.pk].matched_words = True
    results = sorted(fused.values(), key=lambda chunk: (-chunk.fused, -chunk.score, str(chunk.pk)))[:k]
    for chunk in results:
        chunk.matched_words = getattr(chunk, "matched_words", False)
    return results, dense


# Why `answer` has none: an empty question, a knowledge base with no searchable chunk (none written, or none embedded
# by the configured model yet), or a best passage under ANSWER_THRESHOLD.
NO_ANSWER_REASONS = ("EMPTY_QUESTION", "NO_KNOWLEDGE", "LOW_CONFIDENCE")

# Calibration of `answer` (bench/knowledge.py --verbose --sweep): multilingual-e5 puts every question 0.79-0.92 from
# every passage of a clinic FAQ, so the cosine alone separates badly ("Do you do MRI scans?" 0.833, "Is there a
# kids' doctor?" 0.855). Out-of-scope questions rarely share a telling word (one in at most MAX_WORD_SHARE of the
# chunks) with the best passage, answerable ones mostly do; so a passage with such a word is trusted from cosine
# 0.828, one without from 0.852. The form (a words bonus) was chosen looking at all 45 bench questions, the threshold
# from the sweep (0.50-0.65 equal on English, 0.65 the first to refuse 4/5 in Portuguese): no held-out set.
ANSWER_THRESHOLD = 0.65
WORDS_BONUS = 0.3
MAX_PASSAGE_CHARS = 400
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")


@dataclass
class Answer:
    """What the knowledge base says to a question: a passage with its heading and a confidence (0 to 1), or
    `found` False (NO_ANSWER) when no passage is confident enough."""

    found: bool
    confidence: float
    passage: str = ""
    heading: str = ""
    chunk: KnowledgeChunk | None = None
    sources: list = field(default_factory=list)
    features: dict = field(default_factory=dict)  # what the confidence was computed from (for the bench)
    # Why there is no answer (NO_ANSWER_REASONS), "" when found.
    reason: str = ""

    @property
    def level(self) -> str:
        """The confidence in words: `high`, `medium`, `low` (found) or `none` (NO_ANSWER)."""
        if not self.found:
            return "none"
        return "high" if self.confidence >= 0.95 else "medium" if self.confidence >= 0.8 else "low"


def confidence_of(score: float, matched_words: bool) -> float:
    """A 0-1 confidence from the best passage's cosine similarity and whether full text also found it; the
    constants are the calibration described above ANSWER_THRESHOLD."""
    value = (score - 0.80) / 0.08 + (WORDS_BONUS if matched_words else 0.0)
    return round(max(0.0, min(1.0, value)), 3)


def _heading_and_body(chunk) -> tuple[str, str]:
    first, _newline, rest = chunk.content.partition("\n")
    if rest and heading_of(first):
        return first.strip(), rest.strip()
    return (chunk.title or "").strip(), chunk.content.strip()


_WORD = re.compile(r"\w+", re.UNICODE)


def _stems(text: str) -> set[str]:
    # The first five letters of each word of four or more: a crude stem that holds in English and Portuguese
    # ("cheque"/"cheques", "vacina"/"vacinação") and skips most short function words.
    return {word[:5] for word in _WORD.findall(text.lower()) if len(word) >= 4}


def _shared(asked: set[str], stems: set[str]) -> int:
    """How many of the question's stems a sentence has, a shorter word counting when it starts a longer one
    ("park" and "parking", "open" and "opens")."""
    return sum(1 for stem in asked if any(word.startswith(stem) or stem.startswith(word) for word in stems))


def _sentence_spans(body: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank sentence of `body` (split as `_SENTENCE` does)."""
    spans, start = [], 0
    for separator in _SENTENCE.finditer(body):
        spans.append((start, separator.start()))
        start = separator.end()
    spans.append((start, len(body)))
    return [(begin, end) for begin, end in spans if body[begin:end].strip()]


def _chosen_sentences(sentences: list[str], question: str) -> list[int]:
    """The indexes of the sentence sharing most words with `question` (the first on a tie) and of its neighbours
    that fit in MAX_PASSAGE_CHARS, in order."""
    asked = _stems(question)
    best = max(range(len(sentences)), key=lambda index: (_shared(asked, _stems(sentences[index])), -index))
    chosen = [best]
    # The next sentence first (answers often go on: "... costs 18 euros; it is free for ..."), then the one before.
    for neighbour in (best + 1, best - 1):
        if 0 <= neighbour < len(sentences):
            candidate = sorted(chosen + [neighbour])
            if sum(len(sentences[i]) + 1 for i in candidate) <= MAX_PASSAGE_CHARS:
                chosen = candidate
    return chosen


def _passage(body: str, question: str) -> str:
    """The sentences of `body` around the one sharing most words with `question` (the first on a tie), whole, up
    to MAX_PASSAGE_CHARS when the neighbours fit."""
    sentences = [sentence.strip() for sentence in _SENTENCE.split(body) if sentence and sentence.strip()]
    if len(sentences) <= 1:
        return body
    return " ".join(sentences[i] for i in _chosen_sentences(sentences, question))


@dataclass
class Excerpt:
    """Where a passage answers a question: `match` (the sentences `answer` would pick) between `before` and
    `after` (the rest of the passage), and whether text was left out on either side of the match."""

    before: str
    match: str
    after: str

    @property
    def cut_before(self) -> bool:
        return bool(self.before.strip())

    @property
    def cut_after(self) -> bool:
        return bool(self.after.strip())


def excerpt(content: str, question: str) -> Excerpt:
    """Split `content` around the sentences that answer `question` (the same choice as `answer`'s passage), so
    a page can show them whole, centred between ellipses, and the whole passage with them highlighted."""
    content = content or ""
    spans = _sentence_spans(content)
    if len(spans) <= 1:
        return Excerpt(before="", match=content, after="")
    chosen = _chosen_sentences([content[begin:end].strip() for begin, end in spans], question)
    start, end = spans[chosen[0]][0], spans[chosen[-1]][1]
    return Excerpt(before=content[:start], match=content[start:end], after=content[end:])


def answer(*, clinic, question: str, language: str | None = None, k: int = 3) -> Answer:
    """The passage of `clinic`'s knowledge base that answers `question` (whole sentences around the best hit of
    `hybrid_search`, with its section heading) and a confidence, or an Answer with `found` False (NO_ANSWER)
    when the best passage's confidence is under ANSWER_THRESHOLD. `sources` are the `k` best chunks."""
    question = (question or "").strip()
    if not question:
        return Answer(found=False, confidence=0.0, reason="EMPTY_QUESTION")
    chunks, dense = _retrieve(clinic, question, k=max(1, min(int(k), MAX_RESULTS)), language=language)
    if not chunks:
        return Answer(found=False, confidence=0.0, reason="NO_KNOWLEDGE")
    best = chunks[0]
    scores = [chunk.score for chunk in dense]
    features = {"score": best.score, "top": scores[0], "gap": round(scores[0] - scores[1], 4) if len(scores) > 1
                else 0.0, "spread": round(scores[0] - sum(scores) / len(scores), 4), "words": best.matched_words}
    confidence = confidence_of(best.score, best.matched_words)
    if confidence < ANSWER_THRESHOLD:
        return Answer(found=False, confidence=confidence, sources=chunks, features=features, reason="LOW_CONFIDENCE")
    heading, body = _heading_and_body(best)
    return Answer(found=True, confidence=confidence, passage=_passage(body, question), heading=heading,
                  chunk=best, sources=chunks, features=features)


def answer_for_agent(clinic, question: str, language: str | None = None) -> dict:
    """`answer` as plain data for the phone agent (registered in `clinics.extensions`, since telephony may not
    import knowledge): found, passage, heading, confidence, level and the NO_ANSWER reason."""
    result = answer(clinic=clinic, question=question, language=language)
    return {"found": result.found, "passage": result.passage, "heading": result.heading,
            "confidence": result.confidence, "level": result.level, "reason": result.reason}
