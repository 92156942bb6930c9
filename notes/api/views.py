"""The notes API (docs/api/notes.md), written once and mounted on the NOTES surface (`/notes/v1/`)."""
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from config.surfaces.tenancy import ClinicScopedMixin
from config.surfaces import NOTES
from config.surfaces.parsers import SurfaceJSONParser
from clinics.errors import Forbidden, InvalidInput, NotFound
from notes import export, selectors, services
from notes.errors import NoteCode
from notes.models import Note, NoteSection
from notes.uploads import AudioSizeLimitHandler, check_declared_length

from .serializers import (NoteCreateSerializer, NoteDetailSerializer, NoteSectionSerializer, NoteSerializer,
                          NoteUploadSerializer, SectionUpdateSerializer, StatusResultSerializer,
                          TranscriptRetrySerializer)

LIST_FILTERS = [
    OpenApiParameter("transcription_status", str, enum=[value for value, _label in Note.Status.choices]),
    OpenApiParameter("name", str, description="Whole words of the patient's name (any order, accents ignored)"),
    OpenApiParameter("from", OpenApiTypes.DATE, description="Created on or after (YYYY-MM-DD, UTC)"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Created on or before (YYYY-MM-DD, UTC)"),
    OpenApiParameter("days", int, description="Created in the last N days"),
    OpenApiParameter("external_id", str),
]


class NoteScopedView(ClinicScopedMixin, generics.GenericAPIView):
    queryset = Note.objects.all()
    serializer_class = NoteSerializer
    lookup_url_kwarg = "note_id"

    def pii_context(self):
        return {"full_pii": self.request.auth is not None and self.request.auth.reads_pii}

    def get_note(self, with_sections=False):
        queryset = self.get_queryset()
        if with_sections:
            queryset = queryset.prefetch_related("sections")
        try:
            return queryset.get(pk=self.kwargs["note_id"])
        except Note.DoesNotExist:
            raise NotFound(NoteCode.NOTE_NOT_FOUND, _("Note not found"), {"id": str(self.kwargs["note_id"])})


class NoteListCreateView(NoteScopedView):
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = NoteSerializer

    @extend_schema(operation_id="notes_list", parameters=LIST_FILTERS, responses=NoteSerializer(many=True))
    def get(self, request):
        queryset, errors = selectors.filtered_notes(self.clinic, request.query_params)
        if errors is not None:
            raise InvalidInput("INVALID_FILTER", _("Invalid filter value"),
                               {field: [str(message) for message in messages] for field, messages in errors.items()})
        page = self.paginate_queryset(queryset)
        if page and request.auth.reads_pii:
            services.notes_list_record(notes=page, actor=request)
        return self.get_paginated_response(NoteSerializer(page, many=True, context=self.pii_context()).data)

    @extend_schema(operation_id="notes_create", request={"multipart/form-data": NoteUploadSerializer},
                   responses={201: NoteSerializer})
    def post(self, request):
        # Decide on the size from the declared length before DRF reads the body, and stream-check the rest.
        check_declared_length(request.META)
        request._request.upload_handlers = [AudioSizeLimitHandler(request._request),
                                            *request._request.upload_handlers]
        audio = request.FILES.get("audio")
        if audio is None:
            raise InvalidInput(NoteCode.AUDIO_REQUIRED, _("Send the recording as the multipart field 'audio'."),
                               {"audio": [_("This field is required.")]})
        fields = NoteCreateSerializer(data=request.data)
        fields.is_valid(raise_exception=True)
        data = dict(fields.validated_data)
        note = services.note_create(clinic=self.clinic, audio=audio, metadata=request.data.get("metadata"),
                                    patient=data.pop("patient_id", None),
                                    appointment=data.pop("appointment_id", None), actor=request, **data)
        return Response(NoteSerializer(note, context=self.pii_context()).data, status=status.HTTP_201_CREATED)


class NoteDetailView(NoteScopedView):
    serializer_class = NoteDetailSerializer

    @extend_schema(operation_id="notes_retrieve", responses=NoteDetailSerializer)
    def get(self, request, note_id):
        note = self.get_note(with_sections=True)
        services.note_read_record(note=note, actor=request, what="read" if request.auth.reads_pii else "read-masked")
        return Response(NoteDetailSerializer(note, context=self.pii_context()).data)


class NoteStatusView(NoteScopedView):
    """`{"data": {"status", "valid"}}`: `valid` says the note completed with a usable transcript.
    Never rate limited: docs/api/notes.md recommends it for polling."""

    rate_limit_exempt = True
    serializer_class = StatusResultSerializer

    @extend_schema(operation_id="notes_status", responses=StatusResultSerializer)
    def get(self, request, note_id):
        row = (self.get_queryset().filter(pk=note_id)
               .values("transcription_status", "transcript").first())
        if row is None:
            raise NotFound(NoteCode.NOTE_NOT_FOUND, _("Note not found"), {"id": str(note_id)})
        completed = row["transcription_status"] == Note.Status.COMPLETED
        return Response({"status": row["transcription_status"], "valid": completed and bool(row["transcript"])})


class IgnoreFormatParameter(DefaultContentNegotiation):
    """`?format=rtf|txt` names the export document, not a DRF renderer."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class NoteExportView(NoteScopedView):
    content_negotiation_class = IgnoreFormatParameter
    FORMATS = {
        "rtf": ("application/rtf", export.as_rtf, "rtf"),
        "txt": ("text/plain; charset=utf-8", export.as_text, "txt"),
    }

    @extend_schema(operation_id="notes_export",
                   parameters=[OpenApiParameter("format", str, enum=["rtf", "txt"], default="rtf")],
                   responses={(200, "application/rtf"): OpenApiTypes.BINARY, (200, "text/plain"): OpenApiTypes.STR})
    def get(self, request, note_id):
        chosen = (request.query_params.get("format") or "rtf").lower()
        if chosen not in self.FORMATS:
            raise InvalidInput(NoteCode.INVALID_EXPORT_FORMAT, _("format must be rtf or txt"),
                               {"expected": "rtf, txt", "received": chosen[:20]})
        if not request.auth.reads_pii:
            raise Forbidden(NoteCode.PII_PERMISSION_REQUIRED,
                            _("Exporting a note needs a key or token with the pii permission."), {})
        note = self.get_note(with_sections=True)
        if not note.transcript:
            raise InvalidInput(NoteCode.NOTE_NOT_READY, _("The note has no transcript to export yet."),
                               {"transcription_status": note.transcription_status})
        services.note_read_record(note=note, actor=request, what="export")
        content_type, render, extension = self.FORMATS[chosen]
        response = HttpResponse(render(note).encode("utf-8"), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="note-{note.id}.{extension}"'
        return response


class NoteRetryView(NoteScopedView):
    """POST /notes/{id}/retry: `200` with the note, back to `pending` (docs/api/notes.md, Error body: the notes
    surface answers 200, 201 or an error, never 202)."""

    @extend_schema(operation_id="notes_retry", request=None, responses={200: NoteSerializer})
    def post(self, request, note_id):
        note = services.note_retry(clinic=self.clinic, note_id=note_id, actor=request)
        return Response(NoteSerializer(note, context=self.pii_context()).data, status=status.HTTP_200_OK)


class TranscriptRetryView(NoteScopedView):
    parser_classes = [SurfaceJSONParser, FormParser, MultiPartParser]
    serializer_class = TranscriptRetrySerializer

    @extend_schema(operation_id="transcripts_retry", request=TranscriptRetrySerializer,
                   responses={200: NoteSerializer})
    def post(self, request):
        body = TranscriptRetrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = services.note_retry(clinic=self.clinic, note_id=body.validated_data["note_id"], actor=request)
        return Response(NoteSerializer(note, context=self.pii_context()).data, status=status.HTTP_200_OK)


class NoteSectionUpdateView(ClinicScopedMixin, generics.GenericAPIView):
    queryset = NoteSection.objects.all()
    parser_classes = [SurfaceJSONParser, FormParser, MultiPartParser]
    serializer_class = SectionUpdateSerializer

    @extend_schema(operation_id="note_sections_update", request=SectionUpdateSerializer,
                   responses=NoteSectionSerializer)
    def patch(self, request):
        body = SectionUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        section = services.note_section_update(clinic=self.clinic, section_id=body.validated_data["id"],
                                               actor=request, content=body.validated_data.get("content"),
                                               title=body.validated_data.get("title"),
                                               version=body.validated_data.get("version") or _if_match(request))
        response = Response(NoteSectionSerializer(section).data)
        response["ETag"] = f'"{section.version}"'
        return response


def _if_match(request) -> str | None:
    """The version an `If-Match: "<version>"` header names (a weak `W/` prefix is accepted; `*` asks nothing)."""
    value = request.headers.get("If-Match", "").strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    return value if value and value != "*" else None


# --- Mounted on the notes surface (docs/api/notes.md).
class NoteListCreateNotesView(NOTES.view, NoteListCreateView):
    pass


class NoteDetailNotesView(NOTES.view, NoteDetailView):
    pass


class NoteStatusNotesView(NOTES.view, NoteStatusView):
    pass


class NoteExportNotesView(NOTES.view, NoteExportView):
    pass


class NoteRetryNotesView(NOTES.view, NoteRetryView):
    pass


class TranscriptRetryNotesView(NOTES.view, TranscriptRetryView):
    pass


class NoteSectionUpdateNotesView(NOTES.view, NoteSectionUpdateView):
    pass
