"""The phone agent on the dashboard surface (docs/api/dashboard.md): its settings and action token, the tool
definitions to give the voice provider, and the tools the agent calls during a conversation
(`/api/agent-actions/...`, authenticated by `X-Agent-Token`).

Choice documented here: the action token is shown again by `GET /api/agents/{agent_id}/api-token`, as the seed
shows, because an encrypted copy is kept next to its digest; only a clinic admin (or a write key) may read it.

The tools (telephony/tools.py) answer a refusal as the dashboard does, `{"detail", "code"}` with the status of
the code, `detail` being a sentence the agent can read out in the caller's language. Every tool takes the
conversation id (`conversation_id` in the body, or the `X-Conversation-Id` header) and `language`.
`GET .../appointments/{agent_id}/today` gives times and services only: never another patient's name.
"""
import json

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import authentication, exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.api import throttles
from clinics.api.authentication import Credential
from clinics.api.permissions import ActsAsClinicAdmin, HasClinicScope
from config.surfaces.tenancy import ClinicScopedMixin
from config.surfaces import DASHBOARD
from scheduling import selectors as scheduling_selectors
from scheduling.models import LIMITS
from telephony import agents, tools
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


class ToolRequestSerializer(serializers.Serializer):
    """What every tool call may carry: the conversation it belongs to, the caller's number as the provider gives
    it, and the caller's language (pt-pt, pt-br, fr, en; default the clinic's)."""

    conversation_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    caller_phone = serializers.CharField(max_length=LIMITS["phone"], required=False, allow_blank=True, default="")
    language = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")


class ServiceFieldsMixin(serializers.Serializer):
    service = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                    help_text="The service's name as the caller said it (matched loosely).")
    service_id = serializers.UUIDField(required=False)
    duration_minutes = serializers.IntegerField(min_value=5, max_value=480, required=False)


class ServicesRequestSerializer(ToolRequestSerializer):
    query = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ServiceShapeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    duration_minutes = serializers.IntegerField()


class ServicesSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["found", "ambiguous", "unknown"])
    code = serializers.CharField(allow_null=True)
    message = serializers.CharField()
    services = ServiceShapeSerializer(many=True)


class AgentAvailabilityRequestSerializer(ServiceFieldsMixin, ToolRequestSerializer):
    date = serializers.DateField()
    time = serializers.TimeField(input_formats=["%H:%M", "%H:%M:%S"], required=False)


class AgentSlotSerializer(serializers.Serializer):
    start_time = serializers.CharField()
    end_time = serializers.CharField()
    available = serializers.BooleanField()


class NearestTimeSerializer(serializers.Serializer):
    date = serializers.DateField()
    time = serializers.CharField()


class AgentAvailabilitySerializer(serializers.Serializer):
    date = serializers.DateField()
    available_slots = serializers.IntegerField()
    slots = AgentSlotSerializer(many=True)
    available = serializers.BooleanField(help_text="Whether `time` (or, without it, any time that day) is free.")
    reason = serializers.CharField(allow_null=True, help_text="IN_THE_PAST, CLOSED, OFF_GRID, TOO_SOON, "
                                   "TOO_FAR_AHEAD, SLOT_TAKEN or FULLY_BOOKED when not available.")
    message = serializers.CharField(help_text="A sentence to read out, in the caller's language.")
    nearest_times = NearestTimeSerializer(many=True)


class AgentBookingRequestSerializer(ServiceFieldsMixin, ToolRequestSerializer):
    """The seed names `patient_phone`/`patient_email`; `phone`/`email` are accepted too."""

    patient_name = serializers.CharField(max_length=LIMITS["name"])
    patient_phone = serializers.CharField(max_length=LIMITS["phone"], required=False)
    phone = serializers.CharField(max_length=LIMITS["phone"], required=False)
    patient_email = serializers.EmailField(required=False, allow_blank=True, max_length=LIMITS["email"])
    email = serializers.EmailField(required=False, allow_blank=True, max_length=LIMITS["email"])
    date = serializers.DateField()
    time = serializers.TimeField(input_formats=["%H:%M", "%H:%M:%S"])
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        attrs["patient_phone"] = attrs.get("patient_phone") or attrs.pop("phone", "")
        attrs["patient_email"] = attrs.get("patient_email") or attrs.pop("email", "")
        if not attrs["patient_phone"]:
            raise serializers.ValidationError({"patient_phone": [_("This field is required.")]})
        if not attrs.get("service") and not attrs.get("service_id"):
            attrs.setdefault("duration_minutes", 30)  # the seed's request: a length, no service
        return attrs


class AgentBookingSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    appointment_id = serializers.UUIDField()
    confirmation = serializers.CharField()
    already_booked = serializers.BooleanField(help_text="The same caller, time and service was booked before.")


class CallerRequestSerializer(ToolRequestSerializer):
    patient_phone = serializers.CharField(max_length=LIMITS["phone"])


class CallerAppointmentSerializer(serializers.Serializer):
    appointment_id = serializers.UUIDField()
    date = serializers.DateField()
    time = serializers.CharField()
    service = serializers.CharField()
    spoken = serializers.CharField()


class CallerAppointmentsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    appointments = CallerAppointmentSerializer(many=True)
    message = serializers.CharField()


class CancelRequestSerializer(CallerRequestSerializer):
    appointment_id = serializers.UUIDField()


class RescheduleRequestSerializer(CancelRequestSerializer):
    date = serializers.DateField()
    time = serializers.TimeField(input_formats=["%H:%M", "%H:%M:%S"])


class ToolMessageSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    appointment_id = serializers.UUIDField(required=False)
    message = serializers.CharField()


class AskRequestSerializer(ToolRequestSerializer):
    question = serializers.CharField(max_length=1000)


class AskSerializer(serializers.Serializer):
    found = serializers.BooleanField(help_text="Whether the knowledge base answers the question.")
    code = serializers.ChoiceField(choices=["OK", "NO_ANSWER"])
    reason = serializers.ChoiceField(
        choices=["", *tools.NO_ANSWER_REASONS], allow_blank=True,
        help_text="Why there is no answer: EMPTY_QUESTION, NO_KNOWLEDGE (no searchable knowledge base) or "
                  "LOW_CONFIDENCE (the best passage is under the calibrated threshold); empty when found.")
    answer = serializers.CharField(allow_blank=True, help_text="The passage that answers, ready to read out.")
    heading = serializers.CharField(allow_blank=True, help_text="The section the passage comes from.")
    confidence = serializers.FloatField(help_text="0 to 1, calibrated: under the threshold there is no answer.")
    confidence_level = serializers.ChoiceField(choices=["high", "medium", "low", "none"])
    message = serializers.CharField(help_text="What to say: the passage, or an offer to put the caller through.")


class HandoverRequestSerializer(ToolRequestSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class HandoverSerializer(serializers.Serializer):
    transfer_to = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class AgentTodayAppointmentSerializer(serializers.Serializer):
    time = serializers.CharField()
    end_time = serializers.CharField()
    reason = serializers.CharField(help_text="The service: never the patient's name or notes.")


class AgentTodaySerializer(serializers.Serializer):
    date = serializers.DateField()
    total_appointments = serializers.IntegerField()
    appointments = AgentTodayAppointmentSerializer(many=True)


class ToolDefinitionsSerializer(serializers.Serializer):
    tools = serializers.ListField(child=serializers.DictField())

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
    # Per conversation and per clinic, not per token or per IP (clinics/api/throttles.py).
    throttle_classes = [throttles.AgentToolRateThrottle, throttles.ApiCallCounter]
    request_serializer = ToolRequestSerializer

    @property
    def clinic(self):
        return self.request.auth.clinic

    def check_agent(self, agent_id: str) -> Agent:
        agent = self.request.auth.extra["agent"]
        if agent.agent_id != agent_id:
            raise exceptions.NotFound(_("Agent not found"))
        return agent

    def parse(self, agent_id: str, data=None) -> tuple[dict, tools.Conversation]:
        """The validated body, and who is calling: the conversation, caller and language."""
        agent = self.check_agent(agent_id)
        payload = self.request_serializer(data=self.request.data if data is None else data)
        payload.is_valid(raise_exception=True)
        values = payload.validated_data
        conversation_id = self.request.headers.get("X-Conversation-Id") or values.get("conversation_id") or ""
        conversation = tools.Conversation(
            clinic=self.clinic, conversation_id=conversation_id.strip()[:100], agent_id=agent.agent_id,
            caller_phone=values.get("caller_phone") or values.get("patient_phone") or "",
            locale=tools.caller_locale(self.clinic, values.get("language", "")), actor=self.request)
        return values, conversation


def _services(services) -> list[dict]:
    return [{"id": service.pk, "name": service.name, "duration_minutes": service.duration_minutes}
            for service in services]


class ListServices(AgentActionMixin, APIView):
    """POST /api/agent-actions/services/{agent_id}: the services a spoken name may mean (all without `query`)."""

    request_serializer = ServicesRequestSerializer

    @extend_schema(request=ServicesRequestSerializer, responses=ServicesSerializer)
    def post(self, request, agent_id):
        values, conversation = self.parse(agent_id)
        found = tools.services_find(conversation=conversation, query=values["query"])
        return Response(ServicesSerializer({**found, "services": _services(found["services"])}).data)


class CheckAvailability(AgentActionMixin, APIView):
    """POST /api/agent-actions/check-availability/{agent_id}: free start times on a date, from the slot engine,
    and why a time (or the day) is not free, with the nearest free times."""

    request_serializer = AgentAvailabilityRequestSerializer

    @extend_schema(request=AgentAvailabilityRequestSerializer, responses=AgentAvailabilitySerializer)
    def post(self, request, agent_id):
        values, conversation = self.parse(agent_id)
        if not values.get("service") and not values.get("service_id"):
            values.setdefault("duration_minutes", 30)
        result = tools.availability_check(
            conversation=conversation, day=values["date"], time=values.get("time"),
            service_query=values["service"], service_id=values.get("service_id"),
            duration_minutes=values.get("duration_minutes"))
        zone = scheduling_selectors.clinic_zone(self.clinic)
        slots = [{"start_time": start.astimezone(zone).strftime("%H:%M"),
                  "end_time": end.astimezone(zone).strftime("%H:%M"), "available": True}
                 for start, end in result.starts]
        nearest = [{"date": moment.astimezone(zone).date(), "time": moment.astimezone(zone).strftime("%H:%M")}
                   for moment in result.nearest]
        return Response(AgentAvailabilitySerializer({
            "date": result.day, "available_slots": len(slots), "slots": slots, "available": result.available,
            "reason": str(result.reason) if result.reason else None, "message": result.message,
            "nearest_times": nearest}).data)


class BookAppointment(AgentActionMixin, APIView):
    """POST /api/agent-actions/book-appointment/{agent_id}: book for the caller with the first professional free.

    201 with the new appointment; 200 with the caller's existing one when the same caller (phone), time and
    service is booked again. A refusal carries the real reason as `code` and a sentence the agent can read out
    (`detail`): UNKNOWN_SERVICE, AMBIGUOUS_SERVICE, SERVICE_NOT_OFFERED, OUTSIDE_WORKING_HOURS, IN_THE_PAST,
    TOO_SOON, TOO_FAR_AHEAD, or SLOT_TAKEN (409)."""

    request_serializer = AgentBookingRequestSerializer

    @extend_schema(request=AgentBookingRequestSerializer, responses={201: AgentBookingSerializer,
                                                                     200: AgentBookingSerializer})
    def post(self, request, agent_id):
        values, conversation = self.parse(agent_id)
        booking = tools.appointment_book_for_caller(
            conversation=conversation, day=values["date"], time=values["time"],
            patient_name=values["patient_name"], patient_phone=values["patient_phone"],
            patient_email=values["patient_email"], reason=values["reason"], service_query=values["service"],
            service_id=values.get("service_id"), duration_minutes=values.get("duration_minutes"))
        return Response({"success": True, "appointment_id": str(booking.appointment.id),
                         "confirmation": booking.confirmation, "already_booked": not booking.created},
                        status=status.HTTP_201_CREATED if booking.created else status.HTTP_200_OK)


class CallerAppointments(AgentActionMixin, APIView):
    """POST /api/agent-actions/my-appointments/{agent_id}: the caller's own upcoming appointments, by their phone."""

    request_serializer = CallerRequestSerializer

    @extend_schema(request=CallerRequestSerializer, responses=CallerAppointmentsSerializer)
    def post(self, request, agent_id):
        values, conversation = self.parse(agent_id)
        found = tools.caller_appointments(conversation=conversation, patient_phone=values["patient_phone"])
        rows = found["appointments"]
        zone = scheduling_selectors.clinic_zone(self.clinic)
        return Response({"total": len(rows), "message": found["message"], "appointments": [
            {"appointment_id": str(row["appointment"].id),
             "date": row["appointment"].starts_at.astimezone(zone).date().isoformat(),
             "time": row["appointment"].starts_at.astimezone(zone).strftime("%H:%M"),
             "service": row["appointment"].service.name, "spoken": row["spoken"]} for row in rows]})


class CancelAppointment(AgentActionMixin, APIView):
    """POST /api/agent-actions/cancel-appointment/{agent_id}: cancel one of the caller's appointments."""

    request_serializer = CancelRequestSerializer

    @extend_schema(request=CancelRequestSerializer, responses=ToolMessageSerializer)
    def post(self, request, agent_id):
        values, conversation = self.parse(agent_id)
        message = tools.caller_appointment_cancel(conversation=conversation, appointment_id=values["appointment_id"],
                                                  patient_phone=values["patient_phone"])
        return Response({"success": True, "appointment_id": str(values["appointment_id"]), "message": message})


class RescheduleAppointment(AgentActionMixin, APIView):
    """POST /api/agent-actions/reschedule-appointment/{agent_id}: move one of the caller's appointments."""

    request_serializer = RescheduleRequestSerializer

    @extend_schema(request=RescheduleRequestSerializer, responses=ToolMessageSerializer)
    def post(self, request, agent_id):
        values, conversation = self.parse(agent_id)
        moved, message = tools.caller_appointment_reschedule(
            conversation=conversation, appointment_id=values["appointment_id"],
            patient_phone=values["patient_phone"], day=values["date"], time=values["time"])
        return Response({"success": True, "appointment_id": str(moved.id), "message": message})


class AskKnowledgeBase(AgentActionMixin, APIView):
    """POST /api/agent-actions/ask/{agent_id}: the knowledge base's answer to a question, or NO_ANSWER with its
    reason (`tools.knowledge_ask`)."""

    request_serializer = AskRequestSerializer

    @extend_schema(request=AskRequestSerializer, responses=AskSerializer)
    def post(self, request, agent_id):
        values, conversation = self.parse(agent_id)
        return Response(tools.knowledge_ask(conversation=conversation, question=values["question"]))


class Handover(AgentActionMixin, APIView):
    """POST /api/agent-actions/handover/{agent_id}: hand the caller over to a human (the number to transfer to)."""

    request_serializer = HandoverRequestSerializer

    @extend_schema(request=HandoverRequestSerializer, responses=HandoverSerializer)
    def post(self, request, agent_id):
        values, conversation = self.parse(agent_id)
        return Response(tools.handover(conversation=conversation, reason=values["reason"]))


class TodayAppointments(AgentActionMixin, APIView):
    """GET /api/agent-actions/appointments/{agent_id}/today: today's active appointments in the clinic's zone, as
    times and services (no patient names: the voice provider is not told who else is coming)."""

    @extend_schema(responses=AgentTodaySerializer, parameters=[
        OpenApiParameter("conversation_id", str, description="The conversation the call belongs to"),
        OpenApiParameter("language", str, description="pt-pt, pt-br, fr or en")])
    def get(self, request, agent_id):
        _values, conversation = self.parse(agent_id, data=request.query_params)
        today, rows = tools.today_times(conversation=conversation)
        return Response({"date": today.isoformat(), "total_appointments": len(rows), "appointments": rows})


# --- the tool definitions for the voice provider ------------------------------------------------------------

CONVERSATION = {"type": "string", "description": "The conversation id", "dynamic_variable": "system__conversation_id"}
CALLER = {"type": "string", "description": "The caller's phone number", "dynamic_variable": "system__caller_id"}
LANGUAGE = {"type": "string", "description": "The caller's language: pt-pt, pt-br, fr or en"}
DATE = {"type": "string", "description": "The day, YYYY-MM-DD"}
TIME = {"type": "string", "description": "The time, HH:MM (24 hours, clinic time)"}
SERVICE = {"type": "string", "description": "The service as the caller named it"}
APPOINTMENT = {"type": "string", "description": "appointment_id from find_my_appointments"}

# name, route, method, description, {property: schema}, required
TOOL_TABLE = (
    ("list_services", "agent-actions-services", "POST",
     "Find the clinic's services by the name the caller used; asks back when two sound alike.",
     {"query": SERVICE}, []),
    ("check_availability", "agent-actions-check-availability", "POST",
     "Free times on a day for a service; with a time, whether it is free and, if not, why (CLOSED, "
     "IN_THE_PAST, OFF_GRID, SLOT_TAKEN...) and the nearest free times.",
     {"date": DATE, "time": TIME, "service": SERVICE}, ["date"]),
    ("book_appointment", "agent-actions-book-appointment", "POST",
     "Book the caller at a free time. Calling it again with the same details returns the same appointment.",
     {"patient_name": {"type": "string", "description": "The patient's name"}, "patient_phone": CALLER,
      "date": DATE, "time": TIME, "service": SERVICE,
      "reason": {"type": "string", "description": "Why the patient comes, in a few words"}},
     ["patient_name", "patient_phone", "date", "time", "service"]),
    ("find_my_appointments", "agent-actions-my-appointments", "POST",
     "The caller's own upcoming appointments (by the number they call from).", {"patient_phone": CALLER},
     ["patient_phone"]),
    ("cancel_appointment", "agent-actions-cancel-appointment", "POST",
     "Cancel one of the caller's appointments.", {"patient_phone": CALLER, "appointment_id": APPOINTMENT},
     ["patient_phone", "appointment_id"]),
    ("reschedule_appointment", "agent-actions-reschedule-appointment", "POST",
     "Move one of the caller's appointments to another free time.",
     {"patient_phone": CALLER, "appointment_id": APPOINTMENT, "date": DATE, "time": TIME},
     ["patient_phone", "appointment_id", "date", "time"]),
    ("ask_knowledge_base", "agent-actions-ask", "POST",
     "Answer a question from the clinic's own information (prices, preparation, address, insurance...): read "
     "out `message`. found=false (code NO_ANSWER, reason EMPTY_QUESTION, NO_KNOWLEDGE or LOW_CONFIDENCE) means "
     "the clinic has not written the answer: do not guess, offer the hand-over.",
     {"question": {"type": "string", "description": "The caller's question"}}, ["question"]),
    ("handover", "agent-actions-handover", "POST",
     "Hand the caller over to a human at the clinic; returns the number to transfer to.",
     {"reason": {"type": "string", "description": "Why, in a few words"}}, []),
)


def tool_definitions(request, agent: Agent) -> list[dict]:
    """The agent's tools as ElevenLabs server ("webhook") tools: each an HTTPS call to one of the actions above,
    with the token header, the conversation id and caller number filled in by the provider's system variables."""
    definitions = []
    for name, route, method, description, properties, required in TOOL_TABLE:
        body = {**properties, "conversation_id": CONVERSATION, "language": LANGUAGE}
        definitions.append({
            "type": "webhook", "name": name, "description": description,
            "api_schema": {
                "url": request.build_absolute_uri(reverse(route, kwargs={"agent_id": agent.agent_id})),
                "method": method,
                "request_headers": {"X-Agent-Token": "<the token of GET /api/agents/{agent_id}/api-token>"},
                "request_body_schema": {"type": "object", "description": description, "properties": body,
                                        "required": list(required) + ["conversation_id"]},
            },
        })
    return definitions


class AgentTools(AgentMixin, APIView):
    """GET /api/agents/{agent_id}/tools: the agent's tools, to paste into (or push to) the voice provider."""

    @extend_schema(responses=ToolDefinitionsSerializer)
    def get(self, request, agent_id):
        return Response({"tools": tool_definitions(request, self.get_agent(agent_id))})
