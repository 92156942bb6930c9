"""Consultation notes for support staff (clinics/admin_pii.py): read-only, the patient's name masked and the
transcript, metadata and sections hidden for support viewers, every read audited; found by name through the
keyed hashes of its words' beginnings. Notes change through notes.services (console and API)."""
import uuid

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinics.admin_pii import PiiAdmin, PiiInline, shown
from clinics.masking import mask_name

from .models import Note, NoteSection, name_search_hashes


class NoteSectionInline(PiiInline, admin.TabularInline):
    model = NoteSection
    fields = ("order", "label", "title", "content_shown", "edited_by_actor", "edited_at")
    readonly_fields = fields

    @admin.display(description=_("content"))
    def content_shown(self, section):
        return shown(section, section.content)


@admin.register(Note)
class NoteAdmin(PiiAdmin):
    audit_action = audit_object_type = "note"
    list_ids_key = "note_ids"
    list_display = ("id", "name_shown", "clinic", "transcription_status", "template", "language", "created_at")
    list_filter = ("transcription_status", "template")
    list_select_related = ("clinic",)
    search_fields = ("external_id",)  # the box; get_search_results does the search
    search_help_text = _("Name words (or their beginnings), a note id or the clinic's external id. Names are "
                         "searched through keyed hashes: nothing is decrypted.")
    date_hierarchy = "created_at"
    fields = ("id", "clinic", "name_shown", "gender", "external_id", "metadata_shown", "patient", "appointment",
              "audio_format", "audio_bytes", "duration_seconds", "transcription_status", "failed_step",
              "failure_reason", "attempts", "transcript_shown", "language", "template", "stt_backend",
              "processing_seconds", "created_at", "updated_at")
    inlines = [NoteSectionInline]

    @admin.display(description=_("name"))
    def name_shown(self, note):
        return shown(note, note.name, mask_name)

    @admin.display(description=_("metadata"))
    def metadata_shown(self, note):
        return shown(note, note.metadata)

    @admin.display(description=_("transcript"))
    def transcript_shown(self, note):
        return shown(note, note.transcript)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()[:200]
        if not term:
            return queryset, False
        condition = Q(external_id=term)
        hashes = name_search_hashes(term)
        if hashes:
            condition |= Q(name_prefix_index__contains=hashes)
        try:
            condition |= Q(pk=uuid.UUID(term))
        except ValueError:
            pass
        return queryset.filter(condition), False
