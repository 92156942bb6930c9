"""Reads of consultation notes."""
from .filters import NoteFilterSet
from .models import Note


def notes_of(clinic):
    """All notes of `clinic`, newest first."""
    return Note.objects.for_clinic(clinic).order_by("-created_at", "-id")


def filtered_notes(clinic, params):
    """Notes of `clinic` narrowed by the documented list filters; returns (queryset, errors or None)."""
    filterset = NoteFilterSet(params, queryset=notes_of(clinic))
    if not filterset.is_valid():
        return None, filterset.errors
    return filterset.qs, None


def note_with_sections(clinic, note_id):
    """One note of `clinic` with its sections prefetched (raises Note.DoesNotExist for another clinic's)."""
    return notes_of(clinic).prefetch_related("sections").get(pk=note_id)

