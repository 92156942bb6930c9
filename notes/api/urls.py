"""Routes of the notes API (`/notes/v1/`), exactly as docs/api/notes.md writes them (no trailing slashes)."""
from django.urls import path

from . import views

urlpatterns = [
    path("notes", views.NoteListCreateNotesView.as_view(), name="notes-list"),
    path("notes/<uuid:note_id>", views.NoteDetailNotesView.as_view(), name="notes-detail"),
    path("notes/<uuid:note_id>/status", views.NoteStatusNotesView.as_view(), name="notes-status"),
    path("notes/<uuid:note_id>/export", views.NoteExportNotesView.as_view(), name="notes-export"),
    path("notes/<uuid:note_id>/retry", views.NoteRetryNotesView.as_view(), name="notes-retry"),
    path("note_sections", views.NoteSectionUpdateNotesView.as_view(), name="notes-section-update"),
    path("transcripts/retry", views.TranscriptRetryNotesView.as_view(), name="notes-transcript-retry"),
]
