"""Shapes of calls and messages on each surface: camelCase on /v1, snake_case on the dashboard. The caller's
number, the summary and the transcript are personal data: masked for callers who may not read it
(`scheduling.api.privacy`)."""
from zoneinfo import ZoneInfo

from rest_framework import serializers

from scheduling.api.privacy import PiiSerializerMixin
from telephony.models import Call


class ClinicDateTimeField(serializers.DateTimeField):
    """ISO 8601 with the clinic's own offset (`2026-05-14T10:00:00+01:00`), as the clinic API documents."""

    def to_representation(self, value):
        if value is None:
            return None
        clinic = self.context.get("clinic")
        zone = ZoneInfo(clinic.timezone) if clinic is not None and clinic.timezone else None
        return (value.astimezone(zone) if zone else value).isoformat()


class CallV1Serializer(PiiSerializerMixin, serializers.ModelSerializer):
    pii_fields = {"phoneNumber": "phone", "summary": "blank"}

    phoneNumber = serializers.CharField(source="phone_number")
    scheduledAt = ClinicDateTimeField(source="scheduled_at")
    startedAt = ClinicDateTimeField(source="started_at")
    endedAt = ClinicDateTimeField(source="ended_at")
    durationSecs = serializers.IntegerField(source="duration_secs")
    conversationId = serializers.CharField(source="conversation_id")
    agentId = serializers.CharField(source="agent_id")
    callSuccessful = serializers.CharField(source="call_successful")
    appointmentBooked = serializers.BooleanField(source="appointment_booked")
    hasRecording = serializers.SerializerMethodField()
    callbackOf = serializers.UUIDField(source="callback_of_id", allow_null=True)
    createdAt = ClinicDateTimeField(source="created_at")

    class Meta:
        model = Call
        fields = ["id", "direction", "status", "phoneNumber", "scheduledAt", "startedAt", "endedAt",
                  "durationSecs", "conversationId", "agentId", "callSuccessful", "title", "summary", "sentiment",
                  "intent", "appointmentBooked", "hasRecording", "callbackOf", "createdAt"]
        read_only_fields = fields

    def get_hasRecording(self, call) -> bool:  # noqa: N802 - the API's field name
        return bool(call.recording_path)


class RecordedToolCallV1Serializer(serializers.Serializer):
    """A tool the agent called during the call, as it happened (telephony.models.ToolCall): no personal data."""

    name = serializers.CharField()
    arguments = serializers.JSONField()
    outcome = serializers.CharField()
    createdAt = ClinicDateTimeField(source="created_at")


class CallDetailV1Serializer(CallV1Serializer):
    toolCalls = serializers.JSONField(source="tool_calls")
    # The agent's tool calls in order, written as they happened (toolCalls is the provider's post-call report).
    recordedToolCalls = RecordedToolCallV1Serializer(source="recorded_tool_calls.all", many=True)
    pii_fields = {**CallV1Serializer.pii_fields, "transcript": "blank", "toolCalls": "blank"}

    class Meta(CallV1Serializer.Meta):
        fields = CallV1Serializer.Meta.fields + ["transcript", "toolCalls", "recordedToolCalls"]
        read_only_fields = fields


class CallDashboardSerializer(PiiSerializerMixin, serializers.ModelSerializer):
    pii_fields = {"phone_number": "phone"}

    class Meta:
        model = Call
        fields = ["id", "phone_number", "status", "direction", "scheduled_at", "started_at", "ended_at",
                  "duration_secs", "conversation_id", "created_at"]
        read_only_fields = fields


class CallCreateSerializer(serializers.Serializer):
    phone_number = serializers.CharField(max_length=40)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)


class ConversationSerializer(PiiSerializerMixin, serializers.ModelSerializer):
    pii_fields = {"summary": "blank"}

    class Meta:
        model = Call
        fields = ["id", "conversation_id", "duration_secs", "call_successful", "summary", "title", "sentiment",
                  "intent", "created_at"]
        read_only_fields = fields


class ConversationDetailSerializer(PiiSerializerMixin, serializers.ModelSerializer):
    pii_fields = {"end_user_id": "phone", "summary": "blank", "transcript": "blank", "webhook_payload": "blank"}

    end_user_id = serializers.CharField(source="phone_number")

    class Meta:
        model = Call
        fields = ["id", "conversation_id", "agent_id", "end_user_id", "duration_secs", "call_successful",
                  "summary", "title", "sentiment", "intent", "transcript", "webhook_payload", "created_at"]
        read_only_fields = fields


class StatsQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, default=7, min_value=1, max_value=366)


class CallStatsSerializer(serializers.Serializer):
    """Documents the stats body; the numbers come from selectors.call_stats."""

    days = serializers.IntegerField()
    total_calls = serializers.IntegerField()
    total_minutes = serializers.IntegerField()
    average_duration = serializers.IntegerField(help_text="seconds")
    successful_calls = serializers.IntegerField()
    failed_calls = serializers.IntegerField()
    appointments_booked = serializers.IntegerField()
    sentiment_breakdown = serializers.DictField(child=serializers.IntegerField())
    intent_breakdown = serializers.DictField(child=serializers.IntegerField())


class CallbackV1RequestSerializer(serializers.Serializer):
    scheduledAt = serializers.DateTimeField(required=False, allow_null=True)


class RecordingLinkV1Serializer(serializers.Serializer):
    url = serializers.URLField()
    expiresAt = serializers.DateTimeField()
