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
