from django.contrib import admin

from clinics.admin_scoping import ClinicScopedAdmin

from .models import KnowledgeChunk, KnowledgeFile


@admin.register(KnowledgeFile)
class KnowledgeFileAdmin(ClinicScopedAdmin):
    list_display = ("filename", "clinic", "file_type", "file_size", "processed", "uploaded_at")
    list_filter = ("processed", "file_type")
    search_fields = ("filename", "clinic__name")
    readonly_fields = ("id", "clinic", "file", "file_size", "file_type", "extension", "processed", "uploaded_at")


@admin.register(KnowledgeChunk)
class KnowledgeChunkAdmin(ClinicScopedAdmin):
    list_display = ("__str__", "clinic", "file", "position", "embedding_model", "embedded_at")
    list_filter = ("embedding_model",)
    search_fields = ("title", "content", "clinic__name")
    # The vector itself is 384 numbers: not something to read or edit by hand.
    exclude = ("embedding",)
    readonly_fields = ("id", "clinic", "file", "position", "revision", "embedding_model", "embedded_at", "created_at",
                       "updated_at")
