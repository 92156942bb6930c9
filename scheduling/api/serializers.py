"""Shapes of the scheduling resources (camelCase, docs/api/clinic-v1.md).

Serializers convert; the rules live in `scheduling.services`. Instants are written in the clinic's own offset
(`2026-05-14T10:00:00+01:00`) and read in any offset.
"""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinics.errors import DomainError
from scheduling import selectors, services
from scheduling.models import LIMITS, Appointment, AvailabilityException, Professional, Service

from .privacy import PiiSerializerMixin


class ClinicDateTimeField(serializers.DateTimeField):
    """ISO 8601 with the clinic's UTC offset on output; an offset is required on input."""

    def to_representation(self, value):
        if value is None:
            return None
        clinic = self.context.get("clinic")
        zone = selectors.clinic_zone(clinic) if clinic is not None else None
        return (value.astimezone(zone) if zone else value).isoformat()

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if isinstance(value, str) and not _has_offset(value):
            raise serializers.ValidationError(_("Use ISO 8601 with a time zone offset, e.g. 2026-05-14T10:00:00+01:00."))
        return parsed


def _has_offset(text: str) -> bool:
    tail = text.strip()[10:]
    return tail.endswith("Z") or "+" in tail or "-" in tail


class ServiceSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=LIMITS["name"])
    durationMinutes = serializers.IntegerField(source="duration_minutes", min_value=1,
                                               max_value=LIMITS["duration_minutes"])
    price = serializers.IntegerField(min_value=0, max_value=LIMITS["price"], required=False,
                                     help_text=_("Minor units (cents)."))
    currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3, required=False)
    bufferBeforeMinutes = serializers.IntegerField(source="buffer_before_minutes", min_value=0,
                                                   max_value=LIMITS["buffer_minutes"], required=False)
    bufferAfterMinutes = serializers.IntegerField(source="buffer_after_minutes", min_value=0,
                                                  max_value=LIMITS["buffer_minutes"], required=False)
    onlineBookable = serializers.BooleanField(source="online_bookable", required=False)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Service
        fields = ["id", "name", "durationMinutes", "price", "currency", "bufferBeforeMinutes",
                  "bufferAfterMinutes", "onlineBookable", "active", "createdAt"]
        read_only_fields = ["id"]


WEEK_SCHEMA = {
    "type": "object",
    "description": "Clinic-local wall times per weekday; a day left out (or []) has no hours. "
                   "Several intervals per day. On write the whole week is replaced.",
    "properties": {day: {"type": "array", "items": {
        "type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "string", "pattern": "^\\d{2}:\\d{2}$"}}}
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "additionalProperties": False,
    "example": {"mon": [["09:00", "13:00"], ["14:00", "18:00"]], "tue": [["09:00", "18:00"]], "sat": []},
}


@extend_schema_field(WEEK_SCHEMA)
class WorkingHoursField(serializers.JSONField):
    """`{"mon": [["09:00", "13:00"], ["14:00", "18:00"]], ..., "sun": []}` — clinic-local wall times.

    On input, days left out have no hours; the whole week is replaced.
    """

    def to_internal_value(self, data):
        try:
            return services.parse_weekly_schedule(data)
        except DomainError as error:
            raise serializers.ValidationError(error.message)

    def to_representation(self, value):
        return selectors.weekly_schedule(value.all())


class ProfessionalSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=LIMITS["name"])
    serviceIds = serializers.ListField(child=serializers.UUIDField(), required=False, write_only=True,
                                       max_length=LIMITS["services_per_professional"])
    workingHours = WorkingHoursField(source="working_hours", required=False)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    colour = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=20)
    specialty = serializers.CharField(required=False, allow_blank=True, max_length=LIMITS["name"])

    class Meta:
        model = Professional
        fields = ["id", "name", "specialty", "email", "phone", "active", "colour", "serviceIds", "workingHours",
                  "createdAt"]
        read_only_fields = ["id"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["serviceIds"] = sorted(str(service.pk) for service in instance.services.all())
        return data


class PatientInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=LIMITS["name"])
    phone = serializers.CharField(max_length=LIMITS["phone"])
    email = serializers.EmailField(required=False, allow_blank=True, max_length=LIMITS["email"])


class AppointmentSerializer(PiiSerializerMixin, serializers.ModelSerializer):
    """`patientId` is the patient's public identifier (`hash`, as in /v1/patients/:hash); the notes are personal
    data, blank for callers who may not read it."""

    pii_fields = {"notes": "blank"}

    patientId = serializers.CharField(source="patient.hash", read_only=True)
    professionalId = serializers.UUIDField(source="professional_id", read_only=True)
    serviceId = serializers.UUIDField(source="service_id", read_only=True)
    startsAt = ClinicDateTimeField(source="starts_at", read_only=True)
    endsAt = ClinicDateTimeField(source="ends_at", read_only=True)
    createdAt = ClinicDateTimeField(source="created_at", read_only=True)
    updatedAt = ClinicDateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Appointment
        fields = ["id", "patientId", "professionalId", "serviceId", "startsAt", "endsAt", "status", "source",
                  "notes", "createdAt", "updatedAt"]
        read_only_fields = fields


class AppointmentCreateSerializer(serializers.Serializer):
    patientId = serializers.CharField(required=False, max_length=64)
    patient = PatientInputSerializer(required=False)
    professionalId = serializers.UUIDField()
    serviceId = serializers.UUIDField()
    startsAt = ClinicDateTimeField()
    notes = serializers.CharField(required=False, allow_blank=True, max_length=LIMITS["notes"])
    source = serializers.ChoiceField(choices=Appointment.Source.choices, required=False)

    def validate(self, attrs):
        if bool(attrs.get("patientId")) == bool(attrs.get("patient")):
            raise serializers.ValidationError({"patientId": [_("Give either patientId or patient.")]})
        return attrs


class AppointmentUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Appointment.Status.choices, required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=LIMITS["notes"])
    startsAt = ClinicDateTimeField(required=False)
    professionalId = serializers.UUIDField(required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(_("Nothing to change: send status, notes or startsAt."))
        return attrs


class ExceptionSerializer(serializers.ModelSerializer):
    professionalId = serializers.UUIDField(source="professional_id", read_only=True)
    startsAt = ClinicDateTimeField(source="starts_at")
    endsAt = ClinicDateTimeField(source="ends_at")

    class Meta:
        model = AvailabilityException
        fields = ["id", "professionalId", "kind", "startsAt", "endsAt", "reason"]


class ScheduleSerializer(serializers.Serializer):
    """One professional's week and dated exceptions (GET /api/v1/schedules)."""

    professionalId = serializers.UUIDField()
    name = serializers.CharField()
    active = serializers.BooleanField()
    timezone = serializers.CharField()
    workingHours = WorkingHoursField()
    exceptions = ExceptionSerializer(many=True)


class SlotSerializer(serializers.Serializer):
    startsAt = ClinicDateTimeField(source="starts_at")
    endsAt = ClinicDateTimeField(source="ends_at")
    professionalId = serializers.UUIDField(source="professional_id")
