"""Shapes of the knowledge base: v1 chunks in camelCase (docs/api/clinic-v1.md), dashboard files in snake_case
(docs/api/dashboard.md)."""
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from knowledge.downloads import file_download_token
from knowledge.models import KnowledgeChunk, KnowledgeFile
from knowledge.services import MAX_CHUNK_CHARS


class KnowledgeChunkSerializer(serializers.ModelSerializer):
    """A chunk; `status` is `embedded` once it can be found by search, `pending` while its embedding is made."""

    fileId = serializers.UUIDField(source="file_id", read_only=True, allow_null=True)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    content = serializers.CharField(max_length=MAX_CHUNK_CHARS, trim_whitespace=True,
                                    help_text=_("The passage the agent can find by meaning."))
    status = serializers.SerializerMethodField()
    embedded = serializers.SerializerMethodField()
    embeddingModel = serializers.SerializerMethodField()
    embeddedAt = serializers.DateTimeField(source="embedded_at", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = KnowledgeChunk
        fields = ["id", "title", "content", "fileId", "position", "status", "embedded", "embeddingModel",
                  "embeddedAt", "createdAt", "updatedAt"]
        read_only_fields = ["id", "position"]

    @extend_schema_field({"type": "string", "enum": ["pending", "embedded"]})
    def get_status(self, chunk):
        return "embedded" if self.get_embedded(chunk) else "pending"

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_embedded(self, chunk):
        return bool(getattr(chunk, "is_embedded", False))

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_embeddingModel(self, chunk):
        return chunk.embedding_model or None if self.get_embedded(chunk) else None


class KnowledgeChunkUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    content = serializers.CharField(required=False, max_length=MAX_CHUNK_CHARS)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError({"content": [_("Give content or title to change.")]})
        return attrs


class KnowledgeSearchResultSerializer(KnowledgeChunkSerializer):
    score = serializers.FloatField(read_only=True, help_text=_("Cosine similarity to the query: 1 is the same "
                                                               "meaning, 0 unrelated."))

    class Meta(KnowledgeChunkSerializer.Meta):
        fields = [*KnowledgeChunkSerializer.Meta.fields, "score"]


class KnowledgeFileSerializer(serializers.ModelSerializer):
    """The file as `GET /api/agents/knowledge-base/files` lists it. `status`: `pending` until a worker read its
    text, then `parsed` (chunks made; `processed` once they are embedded) or `failed` with `failure_reason`."""

    class Meta:
        model = KnowledgeFile
        fields = ["id", "filename", "file_size", "file_type", "uploaded_at", "processed", "status", "failure_reason"]
        read_only_fields = fields


class KnowledgeUploadedFileSerializer(KnowledgeFileSerializer):
    """The upload's answer: the listed fields plus a signed link that downloads the stored document."""

    storage_url = serializers.SerializerMethodField()

    class Meta(KnowledgeFileSerializer.Meta):
        fields = ["id", "filename", "file_size", "file_type", "storage_url", "uploaded_at", "processed", "status",
                  "failure_reason"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_storage_url(self, document):
        """A signed link that downloads the document for an hour (knowledge/downloads.py); the media URL of the
        storage is not served."""
        path = reverse("dashboard-knowledge-file-download", kwargs={"token": file_download_token(document)})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else settings.SITE_URL.rstrip("/") + path


class KnowledgeUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("PDF, DOCX, TXT, CSV, JSON or XLSX; 10 MB at most."))


class KnowledgeMessageSerializer(serializers.Serializer):
    message = serializers.CharField()


class KnowledgeAnswerQuerySerializer(serializers.Serializer):
    """The query of `GET /api/agents/knowledge-base/answer`."""

    question = serializers.CharField(max_length=500, help_text=_("The caller's question, in any language."))
    language = serializers.RegexField(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$", required=False, allow_blank=True,
                                      help_text=_("The question's language (en, pt-PT...): the words matched."))
    agent_id = serializers.CharField(required=False, allow_blank=True, max_length=200)


class KnowledgeAnswerSourceSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="pk")
    file_id = serializers.UUIDField(allow_null=True)
    score = serializers.FloatField(help_text=_("Cosine similarity to the question (1 = same meaning)."))


class KnowledgeAnswerSerializer(serializers.Serializer):
    """What the knowledge base answers: the passage and its heading, or `answered` false (NO_ANSWER)."""

    answered = serializers.BooleanField(source="found")
    status = serializers.SerializerMethodField()
    passage = serializers.CharField(allow_blank=True)
    heading = serializers.CharField(allow_blank=True)
    confidence = serializers.FloatField(help_text=_("0 to 1; under the threshold the answer is NO_ANSWER."))
    confidence_level = serializers.CharField(source="level", help_text="high, medium, low or none")
    chunk_id = serializers.SerializerMethodField()
    sources = KnowledgeAnswerSourceSerializer(many=True)

    @extend_schema_field(serializers.ChoiceField(choices=["ANSWERED", "NO_ANSWER"]))
    def get_status(self, result):
        return "ANSWERED" if result.found else "NO_ANSWER"

    @extend_schema_field(OpenApiTypes.UUID)
    def get_chunk_id(self, result):
        return str(result.chunk.pk) if result.chunk is not None else None
