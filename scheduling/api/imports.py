"""Patient imports on /v1 (docs/api/clinic-v1.md, Patient imports): upload a CSV file, follow its progress, read
its row errors. The bulk path and its rules are `scheduling/imports.py`'s."""
import json

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from clinics.errors import InvalidInput
from config.surfaces import V1
from config.surfaces.tenancy import ClinicScopedMixin
from scheduling import imports
from scheduling.api.privacy import PiiReadMixin, PiiSerializerMixin
from scheduling.models import PatientImport


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="line of the file (the header is line 1)")
    column = serializers.CharField(help_text="the file's column header")
    field = serializers.CharField(help_text="the patient field")
    message = serializers.CharField()


class PatientImportSerializer(PiiSerializerMixin, serializers.ModelSerializer):
    """The documented PatientImport: its columns, progress counts and row errors (never a value of the file but its
    first row, the headers: a patient's when a file has no header row, so they are personal data here, blanked for
    a caller who may not read it, with the column each row error names, and their reads audited)."""

    pii_fields = {"headers": "blank", "columns": "blank"}

    totalRows = serializers.IntegerField(source="total_rows")
    processedRows = serializers.IntegerField(source="processed_rows")
    createdCount = serializers.IntegerField(source="created_count")
    duplicateCount = serializers.IntegerField(source="duplicate_count")
    errorCount = serializers.IntegerField(source="error_count")
    errors = ImportErrorSerializer(many=True)
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)

    class Meta:
        model = PatientImport
        fields = ["id", "status", "filename", "headers", "columns", "totalRows", "processedRows", "createdCount",
                  "duplicateCount", "errorCount", "errors", "createdAt", "startedAt", "completedAt"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("full_pii", False) and data.get("errors"):
            data["errors"] = [{**error, "column": ""} for error in data["errors"]]
        return data


class PatientImportListSerializer(PatientImportSerializer):
    class Meta(PatientImportSerializer.Meta):
        fields = [name for name in PatientImportSerializer.Meta.fields if name != "errors"]


class PatientImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV, header row first; `,` `;` or tab separated; UTF-8 or Windows-1252; "
                                           "10 MB and 100,000 rows at most")
    columns = serializers.CharField(required=False, help_text="JSON object: patient field -> the file's column "
                                                              "header, e.g. {\"name\": \"Nome\", \"phone\": "
                                                              "\"Telemóvel\"}; by default the headers that name them")


class PatientImportScoped(ClinicScopedMixin):
    queryset = PatientImport.objects.all()


class PatientImportListCreateV1(V1.view, PiiReadMixin, PatientImportScoped, generics.ListAPIView):
    """GET /v1/patients/imports (newest first, cursor); POST uploads a CSV file and imports it: `201` with the import,
    `completed` already for up to 1,000 rows, else `pending` and run in the background (poll it)."""

    serializer_class = PatientImportListSerializer
    pii_object = "patient_import"
    cursor_fields = (("createdAt", "-created_at"), ("id", "-id"))
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": PatientImportCreateSerializer},
                   responses={201: PatientImportSerializer}, operation_id="v1_patient_imports_create")
    def post(self, request):
        # Decide on the size from the declared length before DRF reads the body, and stream-check the rest.
        imports.ImportSizeLimitHandler.check_declared_length(request.META)
        request._request.upload_handlers = [imports.ImportSizeLimitHandler(request._request),
                                            *request._request.upload_handlers]
        payload = PatientImportCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        columns = None
        if payload.validated_data.get("columns"):
            try:
                columns = json.loads(payload.validated_data["columns"])
            except ValueError:
                raise InvalidInput.on("columns", _("Not JSON: send an object of patient field -> column header."))
        uploaded = payload.validated_data["file"]
        patient_import = imports.patient_import_create(clinic=self.clinic, content=uploaded.read(),
                                                       filename=uploaded.name, columns=columns, actor=request)
        return Response(PatientImportSerializer(patient_import, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)


class PatientImportDetailV1(V1.view, PiiReadMixin, PatientImportScoped, generics.RetrieveAPIView):
    """GET /v1/patients/imports/:id: progress counts and row errors."""

    serializer_class = PatientImportSerializer
    pii_object = "patient_import"
