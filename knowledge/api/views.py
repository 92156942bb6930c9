"""Domain views of the knowledge base, mounted on the v1 surface (chunks, search) and the dashboard (files)."""
import uuid

from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.errors import InvalidInput, NotFound
from config.surfaces.tenancy import ClinicScopedMixin
from knowledge import selectors, services
from knowledge.downloads import file_for_download_token
from knowledge.errors import KnowledgeCode
from knowledge.filters import KnowledgeChunkFilterSet, KnowledgeFileFilterSet
from knowledge.models import KnowledgeChunk, KnowledgeFile
from knowledge.uploads import UploadSizeLimitHandler, check_declared_length

from .serializers import (
    KnowledgeAnswerQuerySerializer, KnowledgeAnswerSerializer, KnowledgeChunkSerializer, KnowledgeChunkUpdateSerializer, KnowledgeFileSerializer, KnowledgeMessageSerializer, KnowledgeSearchResultSerializer,
    KnowledgeUploadedFileSerializer, KnowledgeUploadSerializer,
)

SEARCH_PARAMETERS = [
    OpenApiParameter("query", str, description="Semantic search: the chunks closest in meaning, best first, each "
                                               "with a `score` (cosine similarity); `limit` results (default 5, "
                                               "max 50), no further page."),
    OpenApiParameter("fileId", OpenApiTypes.UUID, description="Only the chunks cut from this uploaded file."),
    OpenApiParameter("search", str, description="Without `query`: the chunks whose title or text has a word "
                                                "starting with each word given (\"hou sat\" finds \"Opening "
                                                "hours: Saturday\"), case ignored."),
    OpenApiParameter("status", str, enum=["pending", "embedded"], description="Without `query`: only the chunks "
                                                                                "of this status."),
]
FILE_FILTER_PARAMETERS = [
    OpenApiParameter("search", str, description="The files whose name has a word starting with each word given."),
    OpenApiParameter("status", str, enum=KnowledgeFile.Status.values, description="Only the files of this status."),
]
DEFAULT_SEARCH_RESULTS = 5
MAX_AGENT_ID_CHARS = 200


def _uuid_param(request, name):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationError({name: [_("Must be a UUID.")]})


@extend_schema_view(
    get=extend_schema(parameters=SEARCH_PARAMETERS, description="The clinic's chunks (cursor pagination), or "
                      "with `query` a ranked semantic search over them."),
    post=extend_schema(request=KnowledgeChunkSerializer, responses={201: KnowledgeChunkSerializer},
                       description="Add a chunk; its embedding is made in the background (`status` pending, then "
                                   "embedded)."),
)
class ChunkListView(ClinicScopedMixin, generics.ListCreateAPIView):
    serializer_class = KnowledgeChunkSerializer
    cursor_fields = (("createdAt", "created_at"), ("id", "id"))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return KnowledgeChunk.objects.none()
        # The console's passage list filters with the same FilterSet (knowledge/filters.py).
        filters = KnowledgeChunkFilterSet(self.request.query_params, queryset=selectors.chunks_for(self.clinic))
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        return filters.qs

    def list(self, request, *args, **kwargs):
        if "query" not in request.query_params:
            return super().list(request, *args, **kwargs)
        query = request.query_params["query"].strip()
        if not query:
            raise ValidationError({"query": [_("This field may not be blank.")]})
        if len(query) > 1000:
            raise ValidationError({"query": [_("Keep the query under 1000 characters.")]})
        limit = request.query_params.get("limit") or DEFAULT_SEARCH_RESULTS
        try:
            limit = int(limit)
        except ValueError:
            limit = 0
        if limit < 1:
            raise ValidationError({"limit": [_("Must be a positive integer.")]})
        results = selectors.search(self.clinic, query, k=min(limit, selectors.MAX_RESULTS),
                                   file_id=_uuid_param(request, "fileId"))
        response = Response({"items": KnowledgeSearchResultSerializer(results, many=True).data, "nextCursor": None,
                             "hasMore": False})
        response.enveloped = True
        return response

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        chunk = services.chunk_create(clinic=self.clinic, actor=request, content=serializer.validated_data["content"],
                                      title=serializer.validated_data.get("title", ""))
        chunk = selectors.chunks_for(self.clinic).get(pk=chunk.pk)
        return Response(KnowledgeChunkSerializer(chunk).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    patch=extend_schema(request=KnowledgeChunkUpdateSerializer, responses=KnowledgeChunkSerializer,
                        description="Edit the title or text; a change makes a new embedding in the background."),
)
class ChunkDetailView(ClinicScopedMixin, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = KnowledgeChunkSerializer
    http_method_names = ["get", "patch", "delete", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return KnowledgeChunk.objects.none()
        return selectors.chunks_for(self.clinic)

    def partial_update(self, request, *args, **kwargs):
        chunk = self.get_object()
        payload = KnowledgeChunkUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.chunk_update(clinic=self.clinic, chunk_id=chunk.pk, actor=request, **payload.validated_data)
        return Response(KnowledgeChunkSerializer(self.get_queryset().get(pk=chunk.pk)).data)

    def perform_destroy(self, instance):
        services.chunk_delete(clinic=self.clinic, chunk_id=instance.pk, actor=self.request)


# --- dashboard: files of the agent's knowledge base (docs/api/dashboard.md) ---------------------------------------------

AGENT_PARAMETER = OpenApiParameter(
    "agent_id", str, description="The clinic's agent (`agent.agent_id` of the login); another clinic's agent is 404.")


class AgentKnowledgeMixin(ClinicScopedMixin):
    def check_agent(self, request):
        agent_id = request.query_params.get("agent_id", "")
        if len(agent_id) > MAX_AGENT_ID_CHARS:
            raise ValidationError({"agent_id": [_("Keep the agent id under %(limit)d characters.")
                                                % {"limit": MAX_AGENT_ID_CHARS}]})
        if selectors.agent_of_another_clinic(self.clinic, agent_id):
            raise NotFound(KnowledgeCode.AGENT_NOT_FOUND, _("Agent not found"))


class KnowledgeUploadView(AgentKnowledgeMixin, APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(operation_id="knowledge_base_upload", parameters=[AGENT_PARAMETER],
                   request={"multipart/form-data": KnowledgeUploadSerializer}, responses={200: KnowledgeUploadedFileSerializer},
                   description="Upload a document (PDF, DOCX, TXT, CSV, JSON, XLSX; 10 MB at most, else 413). A "
                               "worker reads its text (`status` pending, then parsed, or failed with "
                               "`failure_reason`), cuts it into chunks and embeds them; `processed` turns true "
                               "when every chunk is embedded.")
    def post(self, request):
        self.check_agent(request)
        # Decide on the size from the declared length before DRF reads the body, and stream-check the rest.
        check_declared_length(request.META)
        request._request.upload_handlers = [UploadSizeLimitHandler(request._request),
                                            *request._request.upload_handlers]
        uploaded = request.FILES.get("file")
        if uploaded is None:
            raise InvalidInput(KnowledgeCode.FILE_REQUIRED, _("Send the document as the multipart field 'file'."),
                               {"file": [_("This field is required.")]})
        document = services.knowledge_file_upload(clinic=self.clinic, uploaded=uploaded, actor=request)
        document.refresh_from_db(fields=["processed", "status", "failure_reason"])
        return Response(KnowledgeUploadedFileSerializer(document, context={"request": request}).data)


class KnowledgeFilesView(AgentKnowledgeMixin, APIView):
    @extend_schema(operation_id="knowledge_base_files", parameters=[AGENT_PARAMETER, *FILE_FILTER_PARAMETERS],
                   responses=KnowledgeFileSerializer(many=True))
    def get(self, request):
        self.check_agent(request)
        # The console's document list filters with the same FilterSet (knowledge/filters.py).
        filters = KnowledgeFileFilterSet(request.query_params, queryset=selectors.files_for(self.clinic))
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        return Response(KnowledgeFileSerializer(filters.qs, many=True).data)


class KnowledgeFileView(AgentKnowledgeMixin, APIView):
    @extend_schema(operation_id="knowledge_base_delete", parameters=[AGENT_PARAMETER],
                   responses=KnowledgeMessageSerializer)
    def delete(self, request, file_id):
        self.check_agent(request)
        services.knowledge_file_delete(clinic=self.clinic, file_id=file_id, actor=request)
        return Response({"message": _("File deleted successfully")})


class KnowledgeAnswerView(AgentKnowledgeMixin, APIView):
    @extend_schema(operation_id="knowledge_base_answer", parameters=[KnowledgeAnswerQuerySerializer],
                   responses=KnowledgeAnswerSerializer,
                   description="The passage of the knowledge base that answers `question` (whole sentences "
                               "around the best hit, with its section heading) and a confidence; `answered` "
                               "false and `status` NO_ANSWER when no passage is confident enough.")
    def get(self, request):
        query = KnowledgeAnswerQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        self.check_agent(request)
        result = selectors.answer(clinic=self.clinic, question=query.validated_data["question"],
                                  language=query.validated_data.get("language") or None)
        return Response(KnowledgeAnswerSerializer(result).data)


def knowledge_file_download(request, token):
    """GET /api/agents/knowledge-base/download/{token}: the stored document behind a file's `storage_url`. The
    signed token is the only credential (like a presigned URL): forged, expired, or naming a file that is gone or
    not of the clinic it was signed for, it is 404 (docs/api/dashboard.md, Knowledge base)."""
    if request.method not in ("GET", "HEAD"):
        raise Http404
    document = file_for_download_token(token)
    if document is None or not document.file or not document.file.storage.exists(document.file.name):
        raise Http404
    return FileResponse(document.file.open("rb"), as_attachment=True, filename=document.filename)
