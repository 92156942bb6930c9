"""Domain views of scheduling, written once and mounted on the v1 and voice surfaces (see urls_*.py)."""
import datetime as dt

from django.db import transaction
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from config.surfaces.tenancy import ClinicScopedMixin
from config.surfaces.errors import ApiError
from scheduling import selectors, services
from scheduling.models import Appointment, AvailabilityException, Patient, Professional, Service

from .serializers import (
    AppointmentCreateSerializer, AppointmentSerializer, AppointmentUpdateSerializer, ExceptionSerializer,
    ProfessionalSerializer, ScheduleSerializer, ServiceSerializer,
)


class ClinicContextMixin(ClinicScopedMixin):
    def get_serializer_context(self):
        return {**super().get_serializer_context(), "clinic": self.clinic}


# --- services ---------------------------------------------------------------------------------------------

class ServiceListView(ClinicContextMixin, generics.ListCreateAPIView):
    """Consultation types of the clinic (archived ones too; `active` tells)."""

    queryset = Service.objects.all()
    serializer_class = ServiceSerializer
    cursor_fields = (("name", "name"), ("id", "id"))

    def perform_create(self, serializer):
        serializer.instance = services.create_service(self.clinic, actor=self.request, **serializer.validated_data)


class ServiceDetailView(ClinicContextMixin, generics.RetrieveUpdateDestroyAPIView):
    """PATCH edits; DELETE removes it, archives it when past appointments refer to it (history stays), and is
    refused with 409 HAS_FUTURE_APPOINTMENTS while active appointments lie ahead (patients would be left
    booked for a consultation no longer offered)."""

    queryset = Service.objects.all()
    serializer_class = ServiceSerializer
    http_method_names = ["get", "patch", "delete", "options"]

    def perform_update(self, serializer):
        serializer.instance = services.update_service(serializer.instance, actor=self.request,
                                                      **serializer.validated_data)

    def perform_destroy(self, instance):
        services.remove_service(instance, actor=self.request)


# --- professionals ----------------------------------------------------------------------------------------

class ProfessionalQuerysetMixin(ClinicContextMixin):
    queryset = Professional.objects.prefetch_related("services", "working_hours")
    serializer_class = ProfessionalSerializer

    @staticmethod
    def _arguments(validated):
        arguments = dict(validated)
        if "serviceIds" in arguments:
            arguments["service_ids"] = arguments.pop("serviceIds")
        return arguments


class ProfessionalListView(ProfessionalQuerysetMixin, generics.ListCreateAPIView):
    """Professionals of the clinic. POST without `workingHours` gives them the clinic's opening hours."""

    cursor_fields = (("name", "name"), ("id", "id"))

    def perform_create(self, serializer):
        professional = services.create_professional(self.clinic, actor=self.request,
                                                    **self._arguments(serializer.validated_data))
        serializer.instance = self.get_queryset().get(pk=professional.pk)


class ProfessionalDetailView(ProfessionalQuerysetMixin, generics.RetrieveUpdateDestroyAPIView):
    """PATCH edits (`workingHours` replaces the week); DELETE as for services: deleted, archived when past
    appointments refer to them, refused (409 HAS_FUTURE_APPOINTMENTS) while active appointments lie ahead."""

    http_method_names = ["get", "patch", "delete", "options"]

    def perform_update(self, serializer):
        services.update_professional(serializer.instance, actor=self.request,
                                     **self._arguments(serializer.validated_data))
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_destroy(self, instance):
        services.remove_professional(instance, actor=self.request)


# --- appointments -----------------------------------------------------------------------------------------

def _instant(value: str, name: str, clinic, end=False):
    """An ISO datetime, or a date read as the clinic's local midnight (the day after for `to`)."""
    try:
        parsed = parse_datetime(value) if len(value) > 10 else None
        day = parse_date(value) if len(value) == 10 else None
    except ValueError:
        parsed = day = None
    if parsed is None:
        if day is None:
            raise ValidationError({name: [_("Use an ISO 8601 date or date-time.")]})
        return selectors.local_midnight(day + dt.timedelta(days=1 if end else 0), selectors.clinic_zone(clinic))
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=selectors.clinic_zone(clinic))
    return parsed


def filtered_appointments(request, clinic):
    """Appointments of `clinic` filtered by `from`, `to`, `professionalId` and `status` (comma-separated)."""
    params = request.query_params
    try:
        professional_id = params.get("professionalId") or None
        if professional_id:
            import uuid

            professional_id = uuid.UUID(professional_id)
    except ValueError:
        raise ValidationError({"professionalId": [_("Must be a UUID.")]})
    statuses = [value for value in (params.get("status") or "").split(",") if value]
    unknown = [value for value in statuses if value not in Appointment.Status.values]
    if unknown:
        raise ValidationError({"status": [_("Unknown status: %(value)s.") % {"value": ", ".join(unknown)}]})
    return selectors.appointments_for(
        clinic,
        starts_from=_instant(params["from"], "from", clinic) if params.get("from") else None,
        starts_to=_instant(params["to"], "to", clinic, end=True) if params.get("to") else None,
        professional_id=professional_id, status=statuses or None,
    ).select_related("patient")


@extend_schema_view(post=extend_schema(request=AppointmentCreateSerializer, responses={201: AppointmentSerializer}))
class AppointmentListView(ClinicContextMixin, generics.ListCreateAPIView):
    """Appointments (filters `from`, `to`, `professionalId`, `status`); POST books one with `patientId` or a
    `patient: {name, phone, email}` found or created by phone. 409 SLOT_TAKEN if the time is taken."""

    serializer_class = AppointmentSerializer
    cursor_fields = (("startsAt", "starts_at"), ("id", "id"))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Appointment.objects.none()
        return filtered_appointments(self.request, self.clinic)

    def create(self, request, *args, **kwargs):
        payload = AppointmentCreateSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        appointment = book_from_payload(request, self.clinic, payload.validated_data)
        return Response(AppointmentSerializer(appointment, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)


def book_from_payload(request, clinic, data):
    """Resolve the ids of a create payload inside `clinic` and book (404 for anything of another clinic)."""
    professional = get_object_or_404(Professional, clinic=clinic, pk=data["professionalId"])
    service = get_object_or_404(Service, clinic=clinic, pk=data["serviceId"])
    if data.get("patientId"):
        patient = Patient.objects.filter(clinic=clinic).filter(
            Q(hash=data["patientId"]) | Q(pk=_uuid_or_none(data["patientId"]))).first()
        if patient is None:
            raise ApiError(404, "PATIENT_NOT_FOUND", _("Patient not found."))
    else:
        patient = services.find_or_create_patient(clinic, actor=request, **data["patient"])
    return services.book(clinic=clinic, patient=patient, professional=professional, service=service,
                         starts_at=data["startsAt"], source=data.get("source") or caller_source(request),
                         notes=data.get("notes", ""), actor=request)


def caller_source(request):
    """Members act as staff; keys and OAuth clients as the API."""
    return Appointment.Source.STAFF if request.auth.actor_kind == "user" else Appointment.Source.API


def _uuid_or_none(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@extend_schema_view(patch=extend_schema(request=AppointmentUpdateSerializer, responses=AppointmentSerializer),
                    delete=extend_schema(responses=AppointmentSerializer))
class AppointmentDetailView(ClinicContextMixin, generics.RetrieveUpdateDestroyAPIView):
    """PATCH changes `status`, `notes`, and reschedules with `startsAt` (optionally `professionalId`), all or
    nothing; DELETE cancels (the row stays) and returns the cancelled appointment."""

    queryset = Appointment.objects.select_related("patient", "service", "professional", "clinic")
    serializer_class = AppointmentSerializer
    http_method_names = ["get", "patch", "delete", "options"]

    def update(self, request, *args, **kwargs):
        appointment = self.get_object()
        payload = AppointmentUpdateSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        with transaction.atomic():
            appointment = Appointment.objects.select_for_update().select_related(
                "patient", "service", "professional", "clinic").get(pk=appointment.pk)
            if "startsAt" in data or "professionalId" in data:
                professional = None
                if data.get("professionalId"):
                    professional = get_object_or_404(Professional, clinic=self.clinic, pk=data["professionalId"])
                services.reschedule(appointment, starts_at=data.get("startsAt") or appointment.starts_at,
                                    professional=professional, source=caller_source(request), actor=request)
            if "notes" in data:
                services.update_notes(appointment, data["notes"], actor=request)
            if "status" in data:
                services.set_status(appointment, data["status"], actor=request)
        return Response(self.get_serializer(appointment).data)

    def destroy(self, request, *args, **kwargs):
        appointment = services.cancel(self.get_object(), actor=request)
        return Response(self.get_serializer(appointment).data)


# --- schedules (voice surface) ----------------------------------------------------------------------------

class ScheduleListView(ClinicContextMixin, generics.ListAPIView):
    """Each professional's weekly hours and the exceptions (own and clinic-wide) not yet over, or those
    overlapping `from`–`to` when given."""

    serializer_class = ScheduleSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Professional.objects.none()
        return Professional.objects.filter(clinic=self.clinic).prefetch_related("working_hours").order_by(
            "name", "id")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        params = request.query_params
        starts = _instant(params["from"], "from", self.clinic) if params.get("from") else timezone.now()
        ends = _instant(params["to"], "to", self.clinic, end=True) if params.get("to") else None
        exceptions = AvailabilityException.objects.filter(clinic=self.clinic, ends_at__gt=starts).filter(
            Q(professional__in=page) | Q(professional__isnull=True))
        if ends is not None:
            exceptions = exceptions.filter(starts_at__lt=ends)
        exceptions = list(exceptions.order_by("starts_at"))
        context = self.get_serializer_context()
        data = []
        for professional in page:
            own = [e for e in exceptions if e.professional_id in (None, professional.pk)]
            data.append({
                "professionalId": str(professional.pk), "name": professional.name, "active": professional.active,
                "timezone": self.clinic.timezone,
                "workingHours": selectors.weekly_schedule(professional.working_hours.all()),
                "exceptions": ExceptionSerializer(own, many=True, context=context).data,
            })
        return self.get_paginated_response(data)
