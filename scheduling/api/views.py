"""Domain views of scheduling, written once and mounted on the v1 and voice surfaces (see urls_*.py)."""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from config.surfaces.tenancy import ClinicScopedMixin
from scheduling import selectors, services
from scheduling.filters import AppointmentFilter, InstantFilter, ProfessionalFilter, ServiceFilter
from scheduling.models import Appointment, AvailabilityException, Professional, Service

from .privacy import PiiReadMixin

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
    filterset_class = ServiceFilter
    cursor_fields = (("name", "name"), ("id", "id"))

    def perform_create(self, serializer):
        serializer.instance = services.service_create(clinic=self.clinic, actor=self.request,
                                                      **serializer.validated_data)


class ServiceDetailView(ClinicContextMixin, generics.RetrieveUpdateDestroyAPIView):
    """PATCH edits; DELETE removes it, archives it when past appointments refer to it (history stays), and is
    refused with 409 HAS_FUTURE_APPOINTMENTS while active appointments lie ahead (patients would be left
    booked for a consultation no longer offered)."""

    queryset = Service.objects.all()
    serializer_class = ServiceSerializer
    http_method_names = ["get", "patch", "delete", "options"]

    def perform_update(self, serializer):
        serializer.instance = services.service_update(service=serializer.instance, actor=self.request,
                                                      **serializer.validated_data)

    def perform_destroy(self, instance):
        services.service_remove(service=instance, actor=self.request)


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

    filterset_class = ProfessionalFilter
    cursor_fields = (("name", "name"), ("id", "id"))

    def perform_create(self, serializer):
        professional = services.professional_create(clinic=self.clinic, actor=self.request,
                                                    **self._arguments(serializer.validated_data))
        serializer.instance = self.get_queryset().get(pk=professional.pk)


class ProfessionalDetailView(ProfessionalQuerysetMixin, generics.RetrieveUpdateDestroyAPIView):
    """PATCH edits (`workingHours` replaces the week); DELETE as for services: deleted, archived when past
    appointments refer to them, refused (409 HAS_FUTURE_APPOINTMENTS) while active appointments lie ahead."""

    http_method_names = ["get", "patch", "delete", "options"]

    def perform_update(self, serializer):
        services.professional_update(professional=serializer.instance, actor=self.request,
                                     **self._arguments(serializer.validated_data))
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_destroy(self, instance):
        services.professional_remove(professional=instance, actor=self.request)


# --- appointments -----------------------------------------------------------------------------------------

def _instant(value: str, name: str, clinic, end=False):
    """An ISO datetime, or a date read as the clinic's local midnight (the day after for `to`)."""
    try:
        return InstantFilter(field_name=name, end=end).instant(value[:40], clinic)
    except DjangoValidationError:
        raise ValidationError({name: [_("Use an ISO 8601 date or date-time.")]})


@extend_schema_view(post=extend_schema(request=AppointmentCreateSerializer, responses={201: AppointmentSerializer}))
class AppointmentListView(PiiReadMixin, ClinicContextMixin, generics.ListCreateAPIView):
    """Appointments (filters `from`, `to`, `professionalId`, `status`); POST books one with `patientId` or a
    `patient: {name, phone, email}` (reused only when phone and name both match, else a new patient), in one
    transaction (docs/api/clinic-v1.md, Appointments)."""

    queryset = Appointment.objects.select_related("patient")
    serializer_class = AppointmentSerializer
    pii_object = "appointment"
    filterset_class = AppointmentFilter
    cursor_fields = (("startsAt", "starts_at"), ("id", "id"))

    def create(self, request, *args, **kwargs):
        payload = AppointmentCreateSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        details = data.get("patient") or {}
        appointment = services.appointment_book(
            clinic=self.clinic, professional=data["professionalId"], service=data["serviceId"],
            starts_at=data["startsAt"], patient=data.get("patientId") or None,
            patient_name=details.get("name", ""), patient_phone=details.get("phone", ""),
            patient_email=details.get("email", ""), source=data.get("source") or caller_source(request),
            notes=data.get("notes", ""), actor=request)
        return Response(AppointmentSerializer(appointment, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)


def caller_source(request):
    """Members act as staff; keys and OAuth clients as the API."""
    return Appointment.Source.STAFF if request.auth.actor_kind == "user" else Appointment.Source.API


@extend_schema_view(patch=extend_schema(request=AppointmentUpdateSerializer, responses=AppointmentSerializer),
                    delete=extend_schema(responses=AppointmentSerializer))
class AppointmentDetailView(PiiReadMixin, ClinicContextMixin, generics.RetrieveUpdateDestroyAPIView):
    """PATCH changes `status`, `notes`, and reschedules with `startsAt` (optionally `professionalId`), all or
    nothing; DELETE cancels (the row stays) and returns the cancelled appointment."""

    queryset = Appointment.objects.select_related("patient", "service", "professional", "clinic")
    serializer_class = AppointmentSerializer
    pii_object = "appointment"
    http_method_names = ["get", "patch", "delete", "options"]

    def update(self, request, *args, **kwargs):
        appointment = self.get_object()
        payload = AppointmentUpdateSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        appointment = services.appointment_update(
            appointment=appointment, starts_at=data.get("startsAt"), professional=data.get("professionalId"),
            notes=data.get("notes"), status=data.get("status"), source=caller_source(request), actor=request)
        return Response(self.get_serializer(appointment).data)

    def destroy(self, request, *args, **kwargs):
        appointment = services.appointment_cancel(appointment=self.get_object(), actor=request)
        return Response(self.get_serializer(appointment).data)


# --- schedules (voice surface) ----------------------------------------------------------------------------

class ScheduleListView(ClinicContextMixin, generics.ListAPIView):
    """Each professional's weekly hours and the exceptions (own and clinic-wide) not yet over, or those
    overlapping `from`–`to` when given."""

    serializer_class = ScheduleSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Professional.objects.none()
        return Professional.objects.for_clinic(self.clinic).prefetch_related("working_hours").order_by(
            "name", "id")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        params = request.query_params
        starts = _instant(params["from"], "from", self.clinic) if params.get("from") else timezone.now()
        ends = _instant(params["to"], "to", self.clinic, end=True) if params.get("to") else None
        exceptions = AvailabilityException.objects.for_clinic(self.clinic).filter(ends_at__gt=starts).filter(
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
