"""Patients on /v1 (docs/api/clinic-v1.md) and contacts on the voice API (docs/api/voice.md): one model, the
caller's role decides how much of it shows, and every response that carries personal data leaves an audit row
with its purpose."""
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from config.surfaces.tenancy import ClinicScopedMixin
from config.surfaces import V1, VOICE
from scheduling import patients, services
from scheduling.filters import PatientFilter
from scheduling.models import LIMITS, Patient

from .privacy import PiiReadMixin, PiiSerializerMixin

SEARCH_PARAMETER = OpenApiParameter("search", str, required=False,
                                    description="Name words or their beginnings (all must match: \"Mar Sil\" "
                                                "finds Maria da Silva) or a full phone number")
PURPOSE_PARAMETER = OpenApiParameter("purpose", str, required=False,
                                     description="Why the personal data is read (kept in the audit log); "
                                                 "also the X-Purpose header")


class PatientSerializer(PiiSerializerMixin, serializers.ModelSerializer):
    """The documented Patient: decrypted for callers allowed to read PII, masked otherwise (the birth date and
    external id then hidden)."""

    pii_fields = {"name": "name", "phone": "phone", "email": "email", "birthDate": "none", "externalId": "blank",
                  "ownerName": "name"}
    pii_id = "hash"

    birthDate = serializers.DateField(source="birth_date", allow_null=True)
    externalId = serializers.CharField(source="external_id")
    createdAt = serializers.DateTimeField(source="created_at")
    ownerName = serializers.CharField(source="owner_name")
    masked = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = ["hash", "name", "phone", "email", "birthDate", "gender", "species", "ownerName", "tags",
                  "consents", "externalId", "createdAt", "masked"]

    def _full(self):
        return self.context.get("full_pii", False)

    def get_masked(self, patient) -> bool:
        return not self._full()



class PatientQuerysetMixin(ClinicScopedMixin):
    queryset = Patient.objects.all()

    filterset_class = PatientFilter

    def get_queryset(self):
        return patients.patients_for(self.clinic)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "full_pii": patients.can_read_pii(self.request.auth)}


@extend_schema(parameters=[SEARCH_PARAMETER, PURPOSE_PARAMETER])
class PatientV1List(V1.view, PatientQuerysetMixin, generics.ListAPIView):
    """GET /v1/patients?search=: search by name words or phone through blind indexes; cursor pagination."""

    serializer_class = PatientSerializer
    cursor_fields = (("createdAt", "created_at"), ("id", "id"))

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        items = response.data.get("items", [])
        if items:
            patients._audit(request, "patient.list", None, patients.purpose_of(request),
                            hashes=[item["hash"] for item in items], masked=not patients.can_read_pii(request.auth),
                            search=bool(request.query_params.get("search")))
        return response


@extend_schema(parameters=[PURPOSE_PARAMETER])
class PatientV1Detail(V1.view, PatientQuerysetMixin, generics.RetrieveAPIView):
    """GET /v1/patients/:hash: one patient, decrypted only for a role that may read personal data; audited."""

    serializer_class = PatientSerializer
    lookup_field = "hash"

    def get_queryset(self):
        return Patient.objects.for_clinic(self.clinic)

    def retrieve(self, request, *args, **kwargs):
        patient = self.get_object()
        full = patients.can_read_pii(request.auth)
        patients._audit(request, "patient.read", patient, patients.purpose_of(request), masked=not full)
        return Response(self.get_serializer(patient).data)


# --- contacts (voice surface, docs/api/voice.md) ------------------------------------------------------------

class ContactSerializer(PatientSerializer):
    """A contact: a patient (has appointments) or a lead (not yet a patient)."""

    id = serializers.CharField(source="hash", read_only=True)
    type = serializers.SerializerMethodField()

    class Meta(PatientSerializer.Meta):
        fields = ["id", "type", "name", "phone", "email", "tags", "consents", "createdAt", "masked"]

    def get_type(self, patient) -> str:
        return "patient" if getattr(patient, "has_appointments", False) else "lead"


class ContactCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=LIMITS["name"], required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=LIMITS["phone"])
    email = serializers.EmailField(required=False, allow_blank=True, max_length=LIMITS["email"])
    tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list,
                                 max_length=50)


@extend_schema(parameters=[SEARCH_PARAMETER])
class ContactVoiceListCreate(VOICE.view, PiiReadMixin, PatientQuerysetMixin, generics.ListCreateAPIView):
    """GET /api/v1/contacts lists contacts (search, page/per_page); POST adds one, deduplicated by phone and
    name: the same phone and (normalised) name answers 200 with the existing contact, anyone else 201 — a new
    contact, who may share the phone (docs/api/voice.md, Contacts)."""

    serializer_class = ContactSerializer
    pii_object = "contact"

    def get_queryset(self):
        return super().get_queryset().order_by("-created_at", "-id")

    @extend_schema(request=ContactCreateSerializer, responses={200: ContactSerializer, 201: ContactSerializer})
    def post(self, request, *args, **kwargs):
        payload = ContactCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        patient, created = services.patient_find_or_create(clinic=self.clinic, actor=request,
                                                           **payload.validated_data)
        patient = patients.patients_for(self.clinic).get(pk=patient.pk)
        response = Response(self.get_serializer(patient).data,
                            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
        response.message = _("Contact created") if created else _("Contact already exists")
        return response
