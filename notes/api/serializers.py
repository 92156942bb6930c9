"""Shapes of the notes API (docs/api/notes.md): Note, NoteSection, StatusResult, MetadataItem."""
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from notes.models import Note, NoteSection

ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"


class MetadataItemSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=100)
    value = serializers.CharField(allow_blank=True)


class NoteSectionSerializer(serializers.ModelSerializer):
    # docs/api/notes.md writes `"order": "1"`: a string.
    order = serializers.CharField(read_only=True)
    edited_at = serializers.DateTimeField(format=ISO_UTC, read_only=True)
    version = serializers.CharField(read_only=True, help_text=_(
        "Changes with every save; send it back (`version` or `If-Match`) so that a save made from an older copy is "
        "refused with 409 NOTE_CHANGED."))

    class Meta:
        model = NoteSection
        fields = ["id", "title", "label", "content", "order", "edited_at", "version"]


def _initials(name: str) -> str:
    return " ".join(f"{word[0].upper()}." for word in (name or "").split())


class NoteSerializer(serializers.ModelSerializer):
    """Masked unless the context says `full_pii` (the caller's `Credential.reads_pii`): the name as initials, no
    external id, metadata values, transcript or section contents (docs/api/README.md, "API key permissions")."""

    metadata = MetadataItemSerializer(many=True, read_only=True)
    created_at = serializers.DateTimeField(format=ISO_UTC, read_only=True)
    updated_at = serializers.DateTimeField(format=ISO_UTC, read_only=True)

    class Meta:
        model = Note
        fields = ["id", "name", "gender", "transcription_status", "external_id", "metadata", "created_at",
                  "updated_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if self.context.get("full_pii", False):
            return data
        data["name"] = _initials(data.get("name"))
        data["external_id"] = ""
        data["metadata"] = [{"key": item["key"], "value": ""} for item in data.get("metadata") or []]
        if "transcript" in data:
            data["transcript"] = ""
        for section in data.get("sections") or []:
            section["content"] = ""
        return data


class NoteDetailSerializer(NoteSerializer):
    sections = NoteSectionSerializer(many=True, read_only=True)

    class Meta(NoteSerializer.Meta):
        fields = NoteSerializer.Meta.fields + [
            "patient_id", "appointment_id", "language", "template", "audio_format", "duration_seconds", "failed_step", "failure_reason",
            "transcript", "sections"]


class NoteCreateSerializer(serializers.Serializer):
    """The multipart fields of POST /notes besides `audio` and `metadata` (parsed by the service)."""

    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    gender = serializers.ChoiceField(choices=Note.Gender.choices, required=False, allow_blank=True)
    external_id = serializers.CharField(max_length=120, required=False, allow_blank=True)
    template = serializers.ChoiceField(choices=Note.Template.choices, required=False, allow_blank=True)
    language = serializers.RegexField(r"^[a-z]{2}$", required=False, allow_blank=True)
    patient_id = serializers.UUIDField(required=False, allow_null=True)
    appointment_id = serializers.UUIDField(required=False, allow_null=True)


class NoteUploadSerializer(NoteCreateSerializer):
    """The whole multipart body of POST /notes, for the schema."""

    audio = serializers.FileField(help_text="wav, mp3, m4a/aac, ogg (opus/vorbis) or webm; the bytes decide")
    metadata = serializers.CharField(required=False, help_text='JSON: [{"key", "value"}] or an object')


class StatusResultSerializer(serializers.Serializer):
    status = serializers.CharField()
    valid = serializers.BooleanField()


class SectionUpdateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    content = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
    title = serializers.CharField(required=False, max_length=200)
    version = serializers.CharField(required=False, max_length=64, help_text=_(
        "The section's `version` as last read; when it was saved since, 409 NOTE_CHANGED and nothing changes. The "
        "`If-Match` header (the ETag of the last answer) does the same."))

    def validate(self, attrs):
        if "content" not in attrs and "title" not in attrs:
            raise serializers.ValidationError(_("Send content, title or both."))
        return attrs


class TranscriptRetrySerializer(serializers.Serializer):
    note_id = serializers.UUIDField()
