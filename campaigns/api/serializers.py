"""Shapes of engagement on the API surfaces (camelCase, as docs/api/clinic-v1.md and docs/api/voice.md write them)."""

from rest_framework import serializers

from ..models import Task


class TriageSentSerializer(serializers.Serializer):
    appointmentId = serializers.UUIDField(source="appointment_id")
    linkId = serializers.UUIDField(source="link_id")
    messageId = serializers.UUIDField(source="message_id")
    status = serializers.CharField()
    expiresAt = serializers.DateTimeField(source="expires_at")


class NpsSerializer(serializers.Serializer):
    score = serializers.IntegerField(allow_null=True)
    responses = serializers.IntegerField()
    promoters = serializers.IntegerField()
    passives = serializers.IntegerField()
    detractors = serializers.IntegerField()


class ProfessionalNpsSerializer(NpsSerializer):
    professionalId = serializers.UUIDField()
    name = serializers.CharField()


class DashboardStatsSerializer(serializers.Serializer):
    """Documents GET /v1/dashboard/stats (the selector returns this shape)."""

    calls = serializers.IntegerField()
    callsWithBooking = serializers.IntegerField()
    bookings = serializers.IntegerField()
    phoneBookings = serializers.IntegerField()
    conversion = serializers.FloatField(allow_null=True, help_text="bookings per call")
    noShows = serializers.IntegerField()
    noShowRate = serializers.FloatField(allow_null=True)
    completed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    nps = NpsSerializer()
    npsByProfessional = ProfessionalNpsSerializer(many=True)
    openTasks = serializers.IntegerField()


class TaskSerializer(serializers.Serializer):
    """A follow-up task: `assignee` is a member id of the clinic or "phone_agent"; `contactId` a patient hash."""

    id = serializers.UUIDField(read_only=True)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    contactId = serializers.CharField(required=False, allow_null=True, default=None, max_length=32, write_only=True)
    patientId = serializers.CharField(required=False, allow_null=True, default=None, max_length=32, write_only=True)
    dueAt = serializers.DateTimeField(source="due_at", required=False, allow_null=True, default=None)
    assignee = serializers.CharField(required=False, allow_null=True, default=None, max_length=40, write_only=True)
    status = serializers.ChoiceField(choices=Task.Status.values, default=Task.Status.OPEN)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    completedAt = serializers.DateTimeField(source="completed_at", read_only=True)

    def to_representation(self, task):
        data = super().to_representation(task)
        data["contactId"] = task.patient.hash if task.patient_id else None
        data["assignee"] = task.assignee_value
        return data

    def validate(self, attrs):
        """The references go to `task_create` as given: it looks them up through the clinic (one rule for every
        edge) and refuses an unknown one on the same field."""
        reference = attrs.pop("contactId", None) or attrs.pop("patientId", None)
        attrs.pop("patientId", None)
        attrs["contact"] = reference or ""
        attrs["assignee"] = attrs.get("assignee") or ""
        return attrs
