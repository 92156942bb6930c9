"""The phone agent on the dashboard surface (docs/api/dashboard.md): its settings and action token, and the
actions the agent calls during a conversation (`/api/agent-actions/...`, authenticated by `X-Agent-Token`).

Choice documented here: the action token is shown again by `GET /api/agents/{agent_id}/api-token`, as the seed
shows, because an encrypted copy is kept next to its digest; only a clinic admin (or a write key) may read it.
"""
import datetime as dt
import json

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import authentication, exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.api.authentication import Credential
from clinics.api.permissions import ActsAsClinicAdmin, HasClinicScope
from config.surfaces.tenancy import ClinicScopedMixin
from config.surfaces import DASHBOARD
from clinics.errors import InvalidInput
from scheduling import selectors as scheduling_selectors
from scheduling import services as scheduling_services
from scheduling.errors import SchedulingCode
from scheduling.models import ACTIVE_STATUSES, LIMITS, Appointment, Service
from telephony import agents
from telephony.models import Agent


# --- shapes -------------------------------------------------------------------------------------------------

class AgentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Agent
        fields = ["id", "agent_id", "agent_name", "status", "elevenlabs_metadata", "created_at"]
        read_only_fields = ["id", "agent_id", "created_at"]


class AgentUpdateSerializer(serializers.Serializer):
    agent_name = serializers.CharField(max_length=200, required=False)
    status = serializers.ChoiceField(choices=Agent.Status.values, required=False)
    elevenlabs_metadata = serializers.DictField(required=False)

    def validate_elevenlabs_metadata(self, value):
        # Provider ids and a few settings: a small flat object, not a document.
        if len(json.dumps(value, default=str)) > 4000 or any(isinstance(item, (dict, list)) for item in value.values()):
            raise serializers.ValidationError(_("A flat object of at most 4000 characters."))
        return value

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                _("Send at least one of agent_name, status, elevenlabs_metadata."))
        return attrs


class AgentTokenSerializer(serializers.Serializer):
    agent_id = serializers.CharField()
    api_token = serializers.CharField()
    token_preview = serializers.CharField()
    message = serializers.CharField()


class AgentAvailabilityRequestSerializer(serializers.Serializer):
    date = serializers.DateField()
    duration_minutes = serializers.IntegerField(min_value=5, max_value=480, default=30)
    service_id = serializers.UUIDField(required=False)


class AgentSlotSerializer(serializers.Serializer):
    start_time = serializers.CharField()
    end_time = serializers.CharField()
    available = serializers.BooleanField()


class AgentAvailabilitySerializer(serializers.Serializer):
    date = serializers.DateField()
    available_slots = serializers.IntegerField()
    slots = AgentSlotSerializer(many=True)


class AgentBookingRequestSerializer(serializers.Serializer):
    """The seed names `patient_phone`/`patient_email`; `phone`/`email` are accepted too."""

    patient_name = serializers.CharField(max_length=LIMITS["name"])
    patient_phone = serializers.CharField(max_length=LIMITS["phone"], required=False)
    phone = serializers.CharField(max_length=LIMITS["phone"], required=False)
    patient_email = serializers.EmailField(required=False, allow_blank=True, max_length=LIMITS["email"])
    email = serializers.EmailField(required=False, allow_blank=True, max_length=LIMITS["email"])
    date = serializers.DateField()
    time = serializers.TimeField(input_formats=["%H:%M", "%H:%M:%S"])
    duration_minutes = serializers.IntegerField(min_value=5, max_value=480, default=30)
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    service_id = serializers.UUIDField(required=False)

    def validate(self, attrs):
        attrs["patient_phone"] = attrs.get("patient_phone") or attrs.pop("phone", "")
        attrs["patient_email"] = attrs.get("patient_email") or attrs.pop("email", "")
        if not attrs["patient_phone"]:
            raise serializers.ValidationError({"patient_phone": [_("This field is required.")]})
        return attrs


class AgentBookingSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    appointment_id = serializers.UUIDField()
    confirmation = serializers.CharField()


class AgentTodayAppointmentSerializer(serializers.Serializer):
    time = serializers.CharField()
    patient_name = serializers.CharField()
    reason = serializers.CharField()


class AgentTodaySerializer(serializers.Serializer):
    date = serializers.DateField()
    total_appointments = serializers.IntegerField()
    appointments = AgentTodayAppointmentSerializer(many=True)


# --- managing the agent (JWT or API key) ----------------------------------------------------------------------

class AgentMixin(DASHBOARD.view, ClinicScopedMixin):
    queryset = Agent.objects.all()

    def get_agent(self, agent_id: str) -> Agent:
        """The caller's clinic agent when the path names it; any other id (another clinic's) is 404."""
        agent = agents.agent_for(self.clinic)
        if agent.agent_id != agent_id:
            raise exceptions.NotFound(_("Agent not found"))
        return agent


class AgentDetail(AgentMixin, APIView):
    """GET /api/agents: the clinic's agent (created on first use)."""

    @extend_schema(responses=AgentSerializer, operation_id="dashboard_agents_retrieve")
    def get(self, request):
        return Response(AgentSerializer(agents.agent_for(self.clinic)).data)


class AgentUpdate(AgentMixin, APIView):
    """PUT /api/agents/{agent_id}: rename the agent, pause it, or store its ElevenLabs metadata."""

    @extend_schema(request=AgentUpdateSerializer, responses=AgentSerializer)
    def put(self, request, agent_id):
        agent = self.get_agent(agent_id)
        payload = AgentUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return Response(AgentSerializer(agents.agent_update(agent=agent, actor=request, **payload.validated_data)).data)


class AgentToken(AgentMixin, APIView):
    """GET /api/agents/{agent_id}/api-token: the token to put in the provider's tool calls (admins only)."""

    permission_classes = [IsAuthenticated, ActsAsClinicAdmin]

    @extend_schema(responses=AgentTokenSerializer)
    def get(self, request, agent_id):
        agent = self.get_agent(agent_id)
        return Response({"agent_id": agent.agent_id, "api_token": agent.token_encrypted,
                         "token_preview": agent.token_preview,
                         "message": _("Use this token in the X-Agent-Token header when configuring ElevenLabs "
                                      "function calling")})


class AgentTokenRegenerate(AgentMixin, APIView):
    """POST /api/agents/{agent_id}/regenerate-token: a new token; the old one is refused at once."""

    permission_classes = [IsAuthenticated, ActsAsClinicAdmin]

    @extend_schema(request=None, responses=AgentTokenSerializer)
    def post(self, request, agent_id):
        agent, token = agents.agent_token_regenerate(agent=self.get_agent(agent_id), actor=request)
        return Response({"agent_id": agent.agent_id, "api_token": token, "token_preview": agent.token_preview,
                         "message": _("Token regenerated successfully. Update this token in your ElevenLabs agent "
                                      "configuration.")})


# --- the agent's own actions (X-Agent-Token) ------------------------------------------------------------------

class _AgentUser:
    """The voice agent acting through its token: authenticated, never staff."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, agent):
        self.pk = self.id = None
        self.email = f"agent:{agent.agent_id}"

    def __str__(self):
        return self.email


class AgentTokenAuthentication(authentication.BaseAuthentication):
    """`X-Agent-Token: fd_agent_...`: the agent reads and writes its own clinic's schedule."""

    def authenticate(self, request):
        raw = request.META.get("HTTP_X_AGENT_TOKEN")
        if not raw:
            return None
        agent = agents.agent_for_token(raw)
        if agent is None or agent.status != Agent.Status.ACTIVE:
            raise exceptions.AuthenticationFailed(_("Invalid agent token."))
        return _AgentUser(agent), Credential(agent.clinic, frozenset({"read", "write"}), "agent", str(agent.id),
                                             extra={"agent": agent})

    def authenticate_header(self, request):
        return 'AgentToken realm="agent-actions"'


class AgentTokenSchema(OpenApiAuthenticationExtension):
    target_class = AgentTokenAuthentication
    name = "AgentToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-Agent-Token",
                "description": "The agent's token from GET /api/agents/{agent_id}/api-token"}


class AgentActionMixin(DASHBOARD.view):
    authentication_classes = [AgentTokenAuthentication]
    permission_classes = [IsAuthenticated, HasClinicScope]

    @property
    def clinic(self):
        return self.request.auth.clinic

    def check_agent(self, agent_id: str) -> Agent:
        agent = self.request.auth.extra["agent"]
        if agent.agent_id != agent_id:
            raise exceptions.NotFound(_("Agent not found"))
        return agent

    def service_for(self, duration_minutes: int, service_id=None) -> Service:
        """The service the agent books: the one named, else the clinic's active service of that length."""
        services = Service.objects.for_clinic(self.clinic).filter(active=True)
        if service_id is not None:
            return get_object_or_404(services, pk=service_id)
        service = (services.filter(duration_minutes=duration_minutes)
                   .order_by("-online_bookable", "name", "id").first())
        if service is None:
            raise InvalidInput(SchedulingCode.NO_MATCHING_SERVICE,
                               _("The clinic offers no %(minutes)d-minute appointment.")
                               % {"minutes": duration_minutes},
                               {"duration_minutes": [_("No service of this length.")]})
        return service


def _clock(moment, zone) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


class CheckAvailability(AgentActionMixin, APIView):
    """POST /api/agent-actions/check-availability/{agent_id}: free start times on a date, from the slot engine."""

    @extend_schema(request=AgentAvailabilityRequestSerializer, responses=AgentAvailabilitySerializer)
    def post(self, request, agent_id):
        self.check_agent(agent_id)
        payload = AgentAvailabilityRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        day = payload.validated_data["date"]
        service = self.service_for(payload.validated_data["duration_minutes"],
                                   payload.validated_data.get("service_id"))
        zone = scheduling_selectors.clinic_zone(self.clinic)
        starts = {}
        # Several professionals free at one time are one slot to the caller: the booking picks who.
        for slot in scheduling_selectors.free_slots(self.clinic, service, day, day):
            starts.setdefault(slot.starts_at, slot.ends_at)
        slots = [{"start_time": _clock(start, zone), "end_time": _clock(end, zone), "available": True}
                 for start, end in starts.items()]
        return Response({"date": day.isoformat(), "available_slots": len(slots), "slots": slots})


class BookAppointment(AgentActionMixin, APIView):
    """POST /api/agent-actions/book-appointment/{agent_id}: book for the caller with the first professional free.

    A refusal carries the real reason as `code` and a sentence the agent can read out (`detail`):
    SERVICE_NOT_OFFERED, OUTSIDE_WORKING_HOURS, IN_THE_PAST, TOO_SOON, TOO_FAR_AHEAD, or SLOT_TAKEN (409)."""

    @extend_schema(request=AgentBookingRequestSerializer, responses={201: AgentBookingSerializer})
    def post(self, request, agent_id):
        self.check_agent(agent_id)
        payload = AgentBookingRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        service = self.service_for(data["duration_minutes"], data.get("service_id"))
        zone = scheduling_selectors.clinic_zone(self.clinic)
        starts_at = dt.datetime.combine(data["date"], data["time"], tzinfo=zone)
        appointment = scheduling_services.appointment_book(
            clinic=self.clinic, service=service, starts_at=starts_at, patient_name=data["patient_name"],
            patient_phone=data["patient_phone"], patient_email=data["patient_email"],
            source=Appointment.Source.PHONE_AGENT, notes=data["reason"], actor=request)
        local = appointment.starts_at.astimezone(zone)
        confirmation = _("Appointment booked for %(date)s at %(time)s") % {
            "date": date_format(local, "F jS"), "time": time_format(local, "g:i A")}
        return Response({"success": True, "appointment_id": str(appointment.id), "confirmation": confirmation},
                        status=status.HTTP_201_CREATED)


class TodayAppointments(AgentActionMixin, APIView):
    """GET /api/agent-actions/appointments/{agent_id}/today: today's active appointments in the clinic's zone."""

    @extend_schema(responses=AgentTodaySerializer)
    def get(self, request, agent_id):
        self.check_agent(agent_id)
        zone = scheduling_selectors.clinic_zone(self.clinic)
        today = timezone.now().astimezone(zone).date()
        appointments = (scheduling_selectors.appointments_for(
            self.clinic, starts_from=scheduling_selectors.local_midnight(today, zone),
            starts_to=scheduling_selectors.local_midnight(today + dt.timedelta(days=1), zone),
            status=list(ACTIVE_STATUSES))
            .select_related("patient", "service").order_by("starts_at", "id"))
        rows = [{"time": _clock(appointment.starts_at, zone), "patient_name": appointment.patient.name,
                 "reason": appointment.notes or appointment.service.name} for appointment in appointments]
        return Response({"date": today.isoformat(), "total_appointments": len(rows), "appointments": rows})
