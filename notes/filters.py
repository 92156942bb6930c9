"""The list filters of notes, shared by the API and the console."""
from datetime import timedelta

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.crypto import name_tokens

from .models import Note, name_search_hashes


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class NoteFilterForm(forms.Form):
    def clean_name(self):
        value = self.cleaned_data.get("name")
        if value and not name_tokens(value):
            raise forms.ValidationError(_("Search for at least one word of two letters."))
        return value

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            self.add_error("to", _("Must not be before from."))
        return cleaned


class NoteFilterSet(django_filters.FilterSet):
    """`transcription_status`, `name` (the start of words of the name, any order, accents ignored), `from`/`to`
    (YYYY-MM-DD, inclusive, UTC dates), `days` (created in the last N days), `external_id`; all combinable."""

    transcription_status = django_filters.ChoiceFilter(choices=Note.Status.choices)
    name = django_filters.CharFilter(method="filter_name", max_length=200)
    days = IntegerFilter(method="filter_days", min_value=1, max_value=36500)
    external_id = django_filters.CharFilter(field_name="external_id", max_length=120)

    class Meta:
        model = Note
        fields = []
        form = NoteFilterForm

    def filter_name(self, queryset, _field, value):
        # Each word typed is the start of some word of the name: "Mar" finds "Maria Silva" (docs/api/notes.md).
        hashes = name_search_hashes(value)
        return queryset.filter(name_prefix_index__contains=hashes) if hashes else queryset

    def filter_days(self, queryset, _field, value):
        if value is None:
            return queryset
        return queryset.filter(created_at__gte=timezone.now() - timedelta(days=value))


# "from" is a Python keyword, so these two are declared on the filter dictionary.
NoteFilterSet.base_filters["from"] = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte",
                                                               input_formats=["%Y-%m-%d"])
NoteFilterSet.base_filters["to"] = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte",
                                                             input_formats=["%Y-%m-%d"])
