"""The structuring capability: `structuring.backend().structure(...)`, chosen by settings.PROVIDERS["llm"]."""
from config.providers import Capability, register

from .base import Structurer, StructuringError
from .templates import SectionDraft

BACKENDS = {
    "local": "notes.structuring.local.LocalStructurer",
    "openai": "notes.structuring.openai_backend.OpenAIStructurer",
}

__all__ = ["LLM", "BACKENDS", "SectionDraft", "Structurer", "StructuringError", "backend"]


LLM = register(Capability("llm", BACKENDS))


def backend() -> Structurer:
    """A fresh instance of the configured backend (it reads its settings, e.g. OPENAI_BASE_URL, when built)."""
    return LLM.backend_class()()
