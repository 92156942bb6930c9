"""The voice and messaging API (docs/api/voice.md, `/api/v1/`): outbound calls, WhatsApp templates,
transcriptions and the clinic's webhook endpoints; and ElevenLabs' post-call webhook (`/api/webhooks/elevenlabs`,
docs/api/dashboard.md).

Choices the documentation leaves open, documented here and in the schema:
- `agentId` is the agent's UUID (`GET /api/agents` `id`), its public id (`agent_<slug>`) or its ElevenLabs id;
  `callId` is the call's UUID, the same id `/v1/calls/{id}` reads.
- `/api/v1/webhooks` (GET, POST) and `/api/v1/webhooks/{id}` (DELETE) are our extension: the documentation shows a
  webhook configuration (URL and chosen events) without its endpoints. The secret is shown once, at creation.
"""
import json
import logging
import re

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.errors import DomainError
from config.surfaces import VOICE
from config.surfaces.errors import status_for
from config.surfaces.tenancy import ClinicScopedMixin
from scheduling.api.privacy import PiiReadMixin, PiiSerializerMixin
from telephony import agents, outbound_webhooks, selectors, services
from telephony.backends.voice import ElevenLabsVoiceBackend
from telephony.exceptions import AgentNotFound, InvalidSignature, WebhookSecretMissing
from telephony.models import Call, Message, WebhookEndpoint

from .serializers import ClinicDateTimeField

logger = logging.getLogger(__name__)


# --- shapes -------------------------------------------------------------------------------------------------

class ParticipantSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=40)
    about = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class PromptSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")
    overwrite = serializers.BooleanField(required=False, default=False)


class OpeningMessageSerializer(serializers.Serializer):
    start = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CallRequestSerializer(serializers.Serializer):
    agentId = serializers.CharField(max_length=100)
    participant = ParticipantSerializer()
    prompt = PromptSerializer(required=False)
    message = OpeningMessageSerializer(required=False)


class CallStartedSerializer(serializers.Serializer):
    callId = serializers.UUIDField()
    status = serializers.CharField()


CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")


class WhatsAppTemplateRequestSerializer(serializers.Serializer):
    """`templateSid` is a Twilio Content SID (`HX...`); without it the rendered `body` is sent as plain text,
    which WhatsApp accepts only inside the 24-hour window after the patient last wrote."""

    to = serializers.CharField(max_length=40)
    templateName = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    templateSid = serializers.CharField(max_length=34, required=False, allow_blank=True, default="")
    variables = serializers.DictField(child=serializers.CharField(
        max_length=services.MAX_CONTENT_VARIABLE_VALUE, allow_blank=True), required=False, default=dict)
    body = serializers.CharField(max_length=4096, required=False, allow_blank=True, default="",
                                 help_text="The template's text with {{1}}-style placeholders, kept in the outbox.")

    def validate_templateSid(self, value):  # noqa: N802 - the API's field name
        if value and not CONTENT_SID.match(value):
            raise serializers.ValidationError(_("A Twilio Content SID: HX followed by 32 hexadecimal characters."))
        return value

    def validate_variables(self, value):
        if len(value) > services.MAX_CONTENT_VARIABLES:
            raise serializers.ValidationError(_("At most %(n)s variables.") % {"n": services.MAX_CONTENT_VARIABLES})
        if any(not str(key) or len(str(key)) > services.MAX_CONTENT_VARIABLE_KEY for key in value):
            raise serializers.ValidationError(_("A variable name has 1 to %(n)s characters.")
                                              % {"n": services.MAX_CONTENT_VARIABLE_KEY})
        return {str(key): item for key, item in value.items()}

    def validate(self, attrs):
        if not attrs["templateName"] and not attrs["templateSid"]:
            raise serializers.ValidationError({"templateName": [_("Give templateName or templateSid.")]})
        if not attrs["templateSid"] and not attrs["body"]:
            raise serializers.ValidationError({"body": [_("Without templateSid the template's body is required.")]})
        return attrs


class WhatsAppSentSerializer(serializers.Serializer):
    messageId = serializers.UUIDField()
    status = serializers.CharField()
    to = serializers.CharField()
    channel = serializers.CharField()


class TranscriptionSerializer(PiiSerializerMixin, serializers.ModelSerializer):
    pii_fields = {"phoneNumber": "phone", "summary": "blank", "transcript": "blank"}

    callId = serializers.UUIDField(source="id")
    conversationId = serializers.CharField(source="conversation_id")
    agentId = serializers.CharField(source="agent_id")
    phoneNumber = serializers.CharField(source="phone_number")
    durationSecs = serializers.IntegerField(source="duration_secs")
    createdAt = ClinicDateTimeField(source="created_at")

    class Meta:
        model = Call
        fields = ["callId", "conversationId", "agentId", "direction", "status", "phoneNumber", "durationSecs",
                  "summary", "sentiment", "intent", "transcript", "createdAt"]
        read_only_fields = fields


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEndpoint.Event.values),
                                   allow_empty=False, max_length=len(WebhookEndpoint.Event.values) * 2)
    createdAt = ClinicDateTimeField(source="created_at", read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "active", "createdAt"]
        read_only_fields = ["id", "createdAt"]

    def validate_url(self, value):
        # The address itself (resolved, public) is checked by the service, which every caller goes through.
        if not value.lower().startswith(("https://", "http://")):
            raise serializers.ValidationError(_("Use an http(s) URL."))
        return value


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="Signing secret, shown only in this answer.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = WebhookEndpointSerializer.Meta.fields + ["secret"]
        read_only_fields = WebhookEndpointSerializer.Meta.read_only_fields + ["secret"]


# --- views --------------------------------------------------------------------------------------------------

class VoiceCallCreate(VOICE.view, ClinicScopedMixin, APIView):
    """POST /api/v1/call: the agent calls the participant now (status `initiated`)."""

    queryset = Call.objects.all()

    @extend_schema(request=CallRequestSerializer, responses=CallStartedSerializer)
    def post(self, request):
        payload = CallRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        agent = agents.agent_in_clinic(self.clinic, data["agentId"])
        if agent is None:
            raise AgentNotFound()
        prompt = data.get("prompt") or {}
        call = agents.call_place(
            clinic=self.clinic, agent=agent, number=data["participant"]["number"], about=data["participant"]["about"],
            prompt=prompt.get("content", ""), overwrite_prompt=prompt.get("overwrite", False),
            first_message=(data.get("message") or {}).get("start", ""), actor=request)
        return Response({"callId": str(call.id), "status": call.status})


class WhatsAppTemplateSend(VOICE.view, ClinicScopedMixin, APIView):
    """POST /api/v1/whatsapp/template: send an approved WhatsApp template through the messaging provider."""

    queryset = Message.objects.all()

    @extend_schema(request=WhatsAppTemplateRequestSerializer, responses=WhatsAppSentSerializer)
    def post(self, request):
        payload = WhatsAppTemplateRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        message = services.whatsapp_template_send(
            clinic=self.clinic, to=data["to"], template_name=data["templateName"], template_sid=data["templateSid"],
            variables=data["variables"], body=data["body"], actor=request)
        response = Response({"messageId": str(message.id), "status": message.status, "to": message.to_phone,
                             "channel": message.channel})
        response.message = _("Template sent")
        return response


class TranscriptionList(VOICE.view, PiiReadMixin, ClinicScopedMixin, generics.ListAPIView):
    """GET /api/v1/transcriptions: the clinic's calls that have a transcript, newest first (page/per_page)."""

    queryset = Call.objects.all()
    serializer_class = TranscriptionSerializer
    pii_object = "transcription"

    def get_queryset(self):
        return selectors.transcriptions_for(self.clinic)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "clinic": self.clinic}


class WebhookEndpointListCreate(VOICE.view, ClinicScopedMixin, generics.ListCreateAPIView):
    """GET/POST /api/v1/webhooks (our extension): where the clinic's chosen voice events are sent."""

    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer

    def get_queryset(self):
        return outbound_webhooks.endpoints_for(self.clinic)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "clinic": self.clinic}

    @extend_schema(request=WebhookEndpointSerializer, responses={201: WebhookEndpointCreatedSerializer})
    def post(self, request, *args, **kwargs):
        payload = WebhookEndpointSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        endpoint, secret = outbound_webhooks.webhook_endpoint_create(
            clinic=self.clinic, url=payload.validated_data["url"], events=payload.validated_data["events"],
            active=payload.validated_data.get("active", True), actor=request)
        endpoint.secret = secret
        body = WebhookEndpointCreatedSerializer(endpoint, context=self.get_serializer_context()).data
        response = Response(body, status=status.HTTP_201_CREATED)
        response.message = _("Webhook created; keep the secret, it is not shown again")
        return response


class WebhookEndpointDelete(VOICE.view, ClinicScopedMixin, generics.GenericAPIView):
    """DELETE /api/v1/webhooks/{id} (our extension): stop sending events there; its delivery log goes with it."""

    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer

    @extend_schema(responses=WebhookEndpointSerializer)
    def delete(self, request, *args, **kwargs):
        endpoint = self.get_object()
        body = WebhookEndpointSerializer(endpoint, context={"clinic": self.clinic}).data
        outbound_webhooks.webhook_endpoint_delete(clinic=self.clinic, endpoint=endpoint, actor=request)
        response = Response(body)
        response.message = _("Webhook deleted")
        return response


# --- ElevenLabs' post-call webhook ------------------------------------------------------------------------------

# A post_call_audio event carries the whole call as base64 MP3: about 1.3 MB a minute at ElevenLabs' bit rate.
MAX_WEBHOOK_BYTES = 64 * 1024 * 1024


def _refused(error: DomainError) -> JsonResponse:
    return JsonResponse({"detail": error.message, "code": error.code}, status=status_for(error.code))


@csrf_exempt
@require_POST
def elevenlabs_webhook(request):
    """POST /api/webhooks/elevenlabs: ElevenLabs' signed post-call report, stored once per conversation.

    401 for a missing, wrong or older-than-30-minutes signature; 503 WEBHOOK_NOT_CONFIGURED for every event while
    ELEVENLABS_WEBHOOK_SECRET is unset (the answer and the error log name the setting); 404 (nothing stored) when the agent is not one of
    ours; 200 once the conversation is recorded (again, for a replay) and its webhooks out are queued. A
    `post_call_audio` stores the call's recording (base64 `data.full_audio`); a `call_initiation_failure` marks the
    outbound call it names failed. The body is read up to MAX_WEBHOOK_BYTES (an audio event outgrows
    DATA_UPLOAD_MAX_MEMORY_SIZE); a larger one is 413.
    """
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_WEBHOOK_BYTES:
        return JsonResponse({"detail": _("The event is larger than %(limit)s bytes.") % {"limit": MAX_WEBHOOK_BYTES},
                             "code": "PAYLOAD_TOO_LARGE"}, status=413)
    # Read from the stream: request.body would refuse anything above DATA_UPLOAD_MAX_MEMORY_SIZE.
    raw = request.read(MAX_WEBHOOK_BYTES + 1)
    if len(raw) > MAX_WEBHOOK_BYTES:
        return JsonResponse({"detail": _("The event is larger than %(limit)s bytes.") % {"limit": MAX_WEBHOOK_BYTES},
                             "code": "PAYLOAD_TOO_LARGE"}, status=413)
    if not ElevenLabsVoiceBackend.webhook_secret_configured():
        error = WebhookSecretMissing("ElevenLabs", ElevenLabsVoiceBackend.WEBHOOK_SECRET_SETTING)
        logger.error("ElevenLabs post-call webhook refused: %s is not set, so no event can be verified "
                     "(manage.py check --deploy flags it).", error.setting)
        return _refused(error)
    if not ElevenLabsVoiceBackend.verify_webhook(raw, request.headers.get("ElevenLabs-Signature", "")):
        # ElevenLabs documents 401 for a bad signature, unlike the 403 of the other providers' webhooks.
        error = InvalidSignature("ElevenLabs")
        return JsonResponse({"detail": error.message, "code": error.code}, status=401)
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"detail": _("The body is not JSON."), "code": "MALFORMED_REQUEST"}, status=400)
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        return JsonResponse({"detail": _("data is required."), "code": "VALIDATION_ERROR"}, status=400)
    kind = payload.get("type")
    if kind not in ("post_call_transcription", "post_call_audio", "call_initiation_failure"):
        # Acknowledged so that ElevenLabs does not retry an event we have no use for.
        return JsonResponse({"status": "ignored", "type": str(kind or "")[:60]})
    try:
        agent = agents.agent_for_provider_id(str(payload["data"].get("agent_id") or "")[:100])
        if agent is None:
            raise AgentNotFound()
        if kind == "call_initiation_failure":
            call = agents.call_failure_record(agent=agent,
                                              conversation_id=str(payload["data"].get("conversation_id") or ""))
            return JsonResponse({"status": "ok" if call else "unknown_call",
                                 "call_id": str(call.id) if call else None})
        if kind == "post_call_audio":
            call = services.call_recording_store(clinic=agent.clinic, payload=payload, agent_id=agent.agent_id)
        else:
            call = services.conversation_record(clinic=agent.clinic, payload=payload, agent_id=agent.agent_id)
    except DomainError as error:
        return _refused(error)
    return JsonResponse({"status": "ok", "call_id": str(call.id), "conversation_id": call.conversation_id})
