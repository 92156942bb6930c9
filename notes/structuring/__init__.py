"""The structuring capability: `structuring.backend().structure(...)`, chosen by settings.PROVIDERS["llm"]."""
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .base import Structurer, StructuringError
from .templates import SectionDraft

BACKENDS = {
    "local": "notes.structuring.local.LocalStructurer",
    "openai": "notes.structuring.openai_backend.OpenAIStructurer",
}

__all__ = ["BACKENDS", "SectionDraft", "Structurer", "StructuringError", "backend"]


def backend() -> Structurer:
    choice = settings.PROVIDERS.get("llm") or "local"
    if choice not in BACKENDS:
        raise ImproperlyConfigured(f"PROVIDERS['llm'] = {choice!r}; expected one of {sorted(BACKENDS)}")
    return import_string(BACKENDS[choice])()
