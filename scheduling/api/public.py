"""Public self-service booking (`/booking/<slug>`): no authentication, JSON for integrations and the page's
script, the server-rendered booking page for browsers (`Accept: text/html`) at the same URL.

Abuse protection: a per-IP counter of booking POSTs in the cache (`BOOKING_RATE_LIMIT`, default 20 per 10
minutes) and a honeypot field `website` that people never see and bots fill in.
"""
import datetime as dt
import uuid

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.errors import InvalidInput
from clinics.models import Clinic
from config.surfaces import PUBLIC
from scheduling import public_manage, selectors, services
from scheduling.errors import SchedulingCode
from scheduling.models import Appointment, Professional, Service

from .serializers import AppointmentSerializer, ClinicDateTimeField, PatientInputSerializer, SlotSerializer

MAX_RANGE_DAYS = 31


def wants_html(request) -> bool:
    accept = request.META.get("HTTP_ACCEPT", "")
    if "text/html" not in accept:
        return False
    return "application/json" not in accept or accept.index("text/html") < accept.index("application/json")


class PublicView(PUBLIC.view, APIView):
    permission_classes = [AllowAny]

    def perform_content_negotiation(self, request, force=False):
        # The page is rendered by Django below; DRF only ever renders JSON here, so never answer 406.
        return super().perform_content_negotiation(request, force=True)

    def get_clinic(self, slug):
        return get_object_or_404(Clinic, slug=slug)


def bookable_services(clinic):
    return Service.objects.for_clinic(clinic).filter(active=True, online_bookable=True).order_by("name", "id")


def clinic_summary(clinic):
    """What the public page shows: the clinic, its online-bookable services and who performs them."""
    services_list = list(bookable_services(clinic))
    bookable_ids = {service.pk for service in services_list}
    professionals = Professional.objects.for_clinic(clinic).filter(active=True, services__in=services_list).distinct(
    ).prefetch_related("services").order_by("name", "id")
    rules = selectors.booking_rules(clinic)
    return {
        "clinic": {"name": clinic.name, "slug": clinic.slug, "kind": clinic.kind, "timezone": clinic.timezone,
                   "phone": clinic.phone, "email": clinic.email, "address": clinic.address},
        "services": [{"id": str(service.pk), "name": service.name, "durationMinutes": service.duration_minutes,
                      "price": service.price, "currency": service.currency} for service in services_list],
        "professionals": [{"id": str(professional.pk), "name": professional.name,
                           "specialty": professional.specialty,
                           "serviceIds": sorted(str(s.pk) for s in professional.services.all()
                                                if s.pk in bookable_ids)}
                          for professional in professionals],
        "bookingRules": {"minNoticeMinutes": rules["min_notice_minutes"], "maxDaysAhead": rules["max_days_ahead"],
                         "slotStepMinutes": rules["slot_step_minutes"]},
    }


class PublicBookingSerializer(serializers.Serializer):
    serviceId = serializers.UUIDField()
    professionalId = serializers.UUIDField(required=False, allow_null=True)
    startsAt = ClinicDateTimeField()
    patient = PatientInputSerializer()
    website = serializers.CharField(required=False, allow_blank=True, max_length=200)
    privacyConsent = serializers.BooleanField(required=False, default=False)
    marketingConsent = serializers.BooleanField(
        required=False, default=False,
        help_text="The page's optional, unticked \"Send me news and offers\" box: true keeps the consent `marketing` "
                  "pending (`marketing_pending`), audited, with the booking (nothing when the booking is refused), "
                  "until the patient confirms it from the SMS link (docs/api/public.md, Marketing consent: double "
                  "opt-in); false records nothing.")

    def consents(self) -> tuple:
        """The consent kinds the patient gave with this booking (`services.BOOKING_CONSENT_KINDS`)."""
        data = self.validated_data
        return tuple(kind for kind, field in (("privacy", "privacyConsent"), ("marketing", "marketingConsent"))
                     if data.get(field))


def check_rate(request):
    """Count this IP's booking POSTs; past the limit, 429 with Retry-After."""
    limit, window = getattr(settings, "BOOKING_RATE_LIMIT", (20, 600))
    key = f"booking-post:{request.META.get('REMOTE_ADDR') or 'unknown'}"
    cache.add(key, 0, window)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, window)
        count = 1
    if count > limit:
        raise Throttled(wait=window, detail=_("Too many booking attempts; please try again later."))


class BookingView(PublicView):
    """GET: clinic info, bookable services and professionals (JSON), or the booking page (HTML).
    POST: book `{serviceId, professionalId?, startsAt, patient: {name, phone, email?}, privacyConsent?,
    marketingConsent?}` → 201 with the appointment, 409 SLOT_TAKEN when someone was faster. The patient is reused
    only when phone and name both match (another patient's data is never shown or changed) and is texted a
    confirmation once the booking commits; the consents given are kept only with a booking that succeeds
    (docs/api/public.md)."""

    @extend_schema(responses={200: inline_serializer("PublicClinic", {
        "clinic": serializers.DictField(), "services": serializers.ListField(child=serializers.DictField()),
        "professionals": serializers.ListField(child=serializers.DictField()),
        "bookingRules": serializers.DictField()})}, description="JSON, or the booking page for Accept: text/html.")
    def get(self, request, slug):
        if wants_html(request):
            clinic = Clinic.objects.filter(slug=slug).first()
            if clinic is None:
                return render(request, "errors/404.html", {"status": 404, "message": _("Not found.")}, status=404)
            return render(request, "scheduling/booking.html", {"clinic": clinic, "summary": clinic_summary(clinic)})
        return Response(clinic_summary(self.get_clinic(slug)))

    @extend_schema(request=PublicBookingSerializer, responses={201: AppointmentSerializer})
    def post(self, request, slug):
        check_rate(request)
        clinic = self.get_clinic(slug)
        if not hasattr(request.data, "get"):
            raise ValidationError(_("Expected a JSON object."))
        if str(request.data.get("website") or "").strip():
            raise InvalidInput(SchedulingCode.REJECTED, _("This request was rejected."))
        payload = PublicBookingSerializer(data=request.data, context={"clinic": clinic})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        service = get_object_or_404(bookable_services(clinic), pk=data["serviceId"])
        details = data["patient"]
        # The professional's id goes to the service as it came: it looks it up through the clinic (NOT_FOUND).
        appointment = services.appointment_book(
            clinic=clinic, service=service, starts_at=data["startsAt"], professional=data.get("professionalId"),
            patient_name=details["name"], patient_phone=details["phone"], patient_email=details.get("email", ""),
            source=Appointment.Source.ONLINE, actor=request,
            consents=payload.consents())
        body = AppointmentSerializer(appointment, context={"clinic": clinic}).data
        body.update({"serviceName": service.name, "professionalName": appointment.professional.name,
                     "manageUrl": request.build_absolute_uri(public_manage.manage_path(appointment)),
                     "calendarUrl": request.build_absolute_uri(public_manage.calendar_path(appointment))})
        return Response(body, status=status.HTTP_201_CREATED)


class SlotsView(PublicView):
    """`?serviceId=&professionalId=&from=&to=` (local dates, default the next 7 days, at most 31) →
    `{"slots": [{"startsAt", "endsAt", "professionalId"}]}`."""

    @extend_schema(parameters=[
        OpenApiParameter("serviceId", str, required=True), OpenApiParameter("professionalId", str),
        OpenApiParameter("from", str, description="YYYY-MM-DD, clinic-local"),
        OpenApiParameter("to", str, description="YYYY-MM-DD, inclusive")],
        responses={200: inline_serializer("PublicSlots", {"slots": SlotSerializer(many=True)})})
    def get(self, request, slug):
        clinic = self.get_clinic(slug)
        params = request.query_params
        service_id = _uuid_param(params, "serviceId", required=True)
        service = get_object_or_404(bookable_services(clinic), pk=service_id)
        professional = None
        professional_id = _uuid_param(params, "professionalId")
        if professional_id:
            professional = get_object_or_404(Professional.objects.for_clinic(clinic).filter(active=True),
                                             pk=professional_id)
        today = timezone.now().astimezone(selectors.clinic_zone(clinic)).date()
        from_date = _date_param(params, "from") or today
        to_date = _date_param(params, "to") or from_date + dt.timedelta(days=6)
        if to_date < from_date or (to_date - from_date).days >= MAX_RANGE_DAYS:
            raise ValidationError({"to": [_("Ask for at most %(days)d days, from before to.") %
                                          {"days": MAX_RANGE_DAYS}]})
        slots = selectors.free_slots(clinic, service, from_date, to_date, professional=professional)
        return Response({"slots": SlotSerializer(slots, many=True, context={"clinic": clinic}).data})


def privacy_page(request, slug):
    """The clinic's privacy notice for online booking: who holds the data and how to reach them."""
    clinic = get_object_or_404(Clinic, slug=slug)
    return render(request, "scheduling/public/privacy.html", {"clinic": clinic})


class SlotCheckView(PublicView):
    """`?serviceId=&professionalId=&startsAt=` → `{"free": true|false}`: whether the time is still free, asked by
    the page just before it sends the booking (the booking itself still relies on the database constraint)."""

    @extend_schema(parameters=[
        OpenApiParameter("serviceId", str, required=True), OpenApiParameter("professionalId", str),
        OpenApiParameter("startsAt", str, required=True, description="ISO 8601 with an offset")],
        responses={200: inline_serializer("PublicSlotCheck", {"free": serializers.BooleanField()})})
    def get(self, request, slug):
        clinic = self.get_clinic(slug)
        params = request.query_params
        service = get_object_or_404(bookable_services(clinic), pk=_uuid_param(params, "serviceId", required=True))
        professional = None
        professional_id = _uuid_param(params, "professionalId")
        if professional_id:
            professional = get_object_or_404(Professional.objects.for_clinic(clinic).filter(active=True),
                                             pk=professional_id)
        try:
            starts_at = dt.datetime.fromisoformat((params.get("startsAt") or "").strip())
        except ValueError:
            starts_at = None
        if starts_at is None or starts_at.tzinfo is None:
            raise ValidationError({"startsAt": [_("Use a date and time with an offset.")]})
        check = selectors.booking_check(clinic, service, starts_at, professional=professional)
        return Response({"free": bool(check.free)})


def _uuid_param(params, name, required=False):
    raw = params.get(name)
    if not raw:
        if required:
            raise ValidationError({name: [_("This field is required.")]})
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationError({name: [_("Must be a UUID.")]})


def _date_param(params, name):
    raw = params.get(name)
    if not raw:
        return None
    try:
        value = parse_date(raw[:10])
    except ValueError:
        value = None
    if value is None:
        raise ValidationError({name: [_("Use a date, YYYY-MM-DD.")]})
    return value
