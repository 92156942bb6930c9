"""The list filters of the knowledge base, one FilterSet per resource shared by the API and the console page:
passages (`GET /v1/knowledge`, the console's passage list) and documents (`GET /api/agents/knowledge-base/files`,
the console's document list). The same parameters give the same rows on every surface."""
import re

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import KnowledgeChunk, KnowledgeFile

MAX_SEARCH_CHARS = 200


def word_prefixes(fields, value: str) -> Q | None:
    """Each word typed is the start of some word of one of `fields` (case ignored): "hou" finds "Opening hours",
    "sat hou" a passage with both. PostgreSQL's `\\m` marks the start of a word."""
    words = (value or "").split()
    if not words:
        return None
    condition = Q()
    for word in words:
        pattern = r"\m" + re.escape(word)
        either = Q()
        for name in fields:
            either |= Q(**{f"{name}__iregex": pattern})
        condition &= either
    return condition


class KnowledgeChunkFilterSet(django_filters.FilterSet):
    """`search` (the start of words of the title or text, any order), `status` (`pending` or `embedded`, as the
    chunk's `status` field says) and `fileId` (the passages cut from one document); all combinable. The queryset
    is `selectors.chunks_for(clinic)` (annotated `is_embedded`)."""

    search = django_filters.CharFilter(method="filter_search", max_length=MAX_SEARCH_CHARS, label=_("Search"))
    status = django_filters.ChoiceFilter(method="filter_status", label=_("Status"), empty_label=_("Any status"),
                                         choices=[("pending", _("Embedding…")), ("embedded", _("Searchable"))])
    fileId = django_filters.UUIDFilter(field_name="file_id", label=_("Document"))

    class Meta:
        model = KnowledgeChunk
        fields = []

    def filter_search(self, queryset, _field, value):
        condition = word_prefixes(("title", "content"), value)
        return queryset.filter(condition) if condition is not None else queryset

    def filter_status(self, queryset, _field, value):
        return queryset.filter(is_embedded=value == "embedded") if value else queryset


class KnowledgeFileFilterSet(django_filters.FilterSet):
    """`search` (the start of words of the file name) and `status` (`pending`, `parsed` or `failed`)."""

    search = django_filters.CharFilter(method="filter_search", max_length=MAX_SEARCH_CHARS, label=_("Search"))
    status = django_filters.ChoiceFilter(choices=KnowledgeFile.Status.choices, label=_("Status"),
                                         empty_label=_("Any status"))

    class Meta:
        model = KnowledgeFile
        fields = []

    def filter_search(self, queryset, _field, value):
        condition = word_prefixes(("filename",), value)
        return queryset.filter(condition) if condition is not None else queryset
