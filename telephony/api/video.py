"""Video consultations (docs/api/video.md) on the dashboard surface: referrals, Dyte meetings and participants, who is
in a referral's call, and Dyte's webhook. Field names are the documented ones (titleMeet, idMeet, type_preset, inMeeting...).
"""
from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.surfaces.tenancy import ClinicScopedMixin
from config.surfaces import DASHBOARD
from scheduling.api.privacy import PiiReadMixin, PiiSerializerMixin

from .. import video
from ..backends.video import PRESETS, LocalVideoBackend
from ..models import Referral, VideoParticipant

WEBHOOK_DONE = "Videochamada atualizada com sucesso!"


class MeetingRequestSerializer(serializers.Serializer):
    titleMeet = serializers.CharField(max_length=200)


class MeetingSerializer(serializers.Serializer):
    """The meeting as Dyte describes it; `id` is the provider's meeting id (use it as idMeet and meetingId)."""

    id = serializers.CharField(source="provider_meeting_id")
    title = serializers.CharField()
    preferred_region = serializers.CharField()
    created_at = serializers.SerializerMethodField()
    record_on_start = serializers.BooleanField()
    updated_at = serializers.SerializerMethodField()
    live_stream_on_start = serializers.BooleanField()
    persist_chat = serializers.BooleanField()
    summarize_on_end = serializers.BooleanField()
    status = serializers.CharField()
    recording_config = serializers.CharField()

    def get_created_at(self, meeting) -> str:
        return (meeting.provider_created_at or meeting.created_at).isoformat()

    def get_updated_at(self, meeting) -> str:
        return (meeting.provider_updated_at or meeting.provider_created_at or meeting.created_at).isoformat()


class UserSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    avatar = serializers.CharField(max_length=500, allow_blank=True, required=False, default="")
    id = serializers.CharField(max_length=100)


class ParticipantRequestSerializer(serializers.Serializer):
    user = UserSerializer()
    idMeet = serializers.CharField(max_length=100)
    type_preset = serializers.ChoiceField(choices=PRESETS)


class ParticipantSerializer(serializers.Serializer):
    """The participant and the `token` its client joins the meeting with."""

    id = serializers.CharField(source="provider_participant_id")
    name = serializers.CharField()
    picture = serializers.CharField()
    custom_participant_id = serializers.CharField()
    preset_name = serializers.CharField()
    created_at = serializers.SerializerMethodField()
    updated_at = serializers.SerializerMethodField()
    token = serializers.CharField()

    def get_created_at(self, participant) -> str:
        return (participant.provider_created_at or participant.created_at).isoformat()

    def get_updated_at(self, participant) -> str:
        return (participant.provider_updated_at or participant.provider_created_at or participant.created_at).isoformat()

    def to_representation(self, participant):
        data = super().to_representation(participant)
        if participant.meeting.provider == "local":
            # Dyte's clients join with the token; the offline backend has its own page to open instead.
            data["join_url"] = settings.SITE_URL.rstrip("/") + reverse("video-local-join", args=[participant.token])
        return data


class AttendanceRequestSerializer(serializers.Serializer):
    inMeeting = serializers.BooleanField()
    userId = serializers.CharField(max_length=100)


class DoctorMeetRequestSerializer(serializers.Serializer):
    doctorID = serializers.CharField(max_length=100)
    referralID = serializers.CharField(max_length=100)
    meetID = serializers.CharField(max_length=100)


class ReferralSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    requesterId = serializers.UUIDField(source="requesting_professional_id")
    specialistId = serializers.UUIDField(source="specialist_id")
    meetingId = serializers.SerializerMethodField()
    requesterInMeeting = serializers.BooleanField(source="requester_in_meeting")
    specialistInMeeting = serializers.BooleanField(source="specialist_in_meeting")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_meetingId(self, referral) -> str | None:
        return referral.meeting.provider_meeting_id if referral.meeting_id else None


class ReferralRequestSerializer(serializers.Serializer):
    requesterId = serializers.CharField(max_length=100)
    specialistId = serializers.CharField(max_length=100)
    patientId = serializers.CharField(max_length=64)
    reason = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class ReferralDetailSerializer(PiiSerializerMixin, ReferralSerializer):
    """The referral as its own routes answer it: the attendance fields plus the patient, the reason and when.
    The reason is health data: blank for a caller who may not read personal data (a viewer, a key without `pii`)."""

    pii_fields = {"reason": "blank"}

    patientId = serializers.CharField(source="patient.hash")
    reason = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")


def data_envelope(name, serializer):
    return inline_serializer(name, {"data": serializer})


class VideoView(DASHBOARD.view, ClinicScopedMixin, APIView):
    def payload(self, serializer_class):
        payload = serializer_class(data=self.request.data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data


class ReferralListCreate(VideoView, PiiReadMixin, generics.ListAPIView):
    """GET /api/referrals (page/per_page, newest first) and POST /api/referrals {requesterId, specialistId,
    patientId, reason}: the referral a video consultation starts from."""

    pii_object = "referral"
    queryset = Referral.objects.all()
    serializer_class = ReferralDetailSerializer
    results_key = "referrals"

    def get_queryset(self):
        return video.referrals_for(self.clinic).select_related("patient")

    @extend_schema(request=ReferralRequestSerializer, operation_id="dashboard_referral_create",
                   responses={201: data_envelope("ReferralCreateResponse", ReferralDetailSerializer())})
    def post(self, request):
        data = self.payload(ReferralRequestSerializer)
        referral = video.referral_create(clinic=self.clinic, requester_id=data["requesterId"],
                                         specialist_id=data["specialistId"], patient_id=data["patientId"],
                                         reason=data["reason"], actor=request)
        return Response({"data": self.get_serializer(referral).data}, status=status.HTTP_201_CREATED)


class ReferralDetail(VideoView, PiiReadMixin, generics.GenericAPIView):
    """GET /api/referrals/{referralId}: one of the clinic's referrals (404 REFERRAL_NOT_FOUND otherwise)."""

    pii_object = "referral"
    serializer_class = ReferralDetailSerializer

    @extend_schema(operation_id="dashboard_referral_detail",
                   responses={200: data_envelope("ReferralDetailResponse", ReferralDetailSerializer())})
    def get(self, request, referral_id):
        return Response({"data": self.get_serializer(video.referral_for(self.clinic, referral_id)).data})


class DyteMeetingCreate(VideoView):
    """POST /api/dyte/meeting {titleMeet}: create the meeting at the provider; title it with the referral id."""

    @extend_schema(request=MeetingRequestSerializer, operation_id="dashboard_dyte_meeting_create",
                   responses={201: data_envelope("DyteMeetingResponse", MeetingSerializer())})
    def post(self, request):
        data = self.payload(MeetingRequestSerializer)
        meeting = video.meeting_create(clinic=self.clinic, title=data["titleMeet"], actor=request)
        return Response({"data": MeetingSerializer(meeting).data}, status=status.HTTP_201_CREATED)


class DyteParticipantCreate(VideoView):
    """POST /api/dyte/participants {user{name,avatar,id}, idMeet, type_preset}: a join token for that user."""

    @extend_schema(request=ParticipantRequestSerializer, operation_id="dashboard_dyte_participant_create",
                   responses={201: data_envelope("DyteParticipantResponse", ParticipantSerializer())})
    def post(self, request):
        data = self.payload(ParticipantRequestSerializer)
        participant = video.participant_add(clinic=self.clinic, meeting_id=data["idMeet"], name=data["user"]["name"],
                                            picture=data["user"]["avatar"], user_id=data["user"]["id"],
                                            preset=data["type_preset"], actor=request)
        return Response({"data": ParticipantSerializer(participant).data}, status=status.HTTP_201_CREATED)


class ReferralMeetingUser(VideoView):
    """POST /attendance-service/referrals/{referralId}/meetings/{meetingId}/user {inMeeting, userId}."""

    @extend_schema(request=AttendanceRequestSerializer, operation_id="attendance_referral_meeting_user",
                   responses={200: data_envelope("ReferralAttendanceResponse", ReferralSerializer())})
    def post(self, request, referral_id, meeting_id):
        data = self.payload(AttendanceRequestSerializer)
        referral = video.referral_attendance_set(clinic=self.clinic, referral_id=referral_id, meeting_id=meeting_id,
                                                 user_id=data["userId"], in_meeting=data["inMeeting"], actor=request)
        return Response({"data": ReferralSerializer(referral).data})


class UpdateDoctorMeet(VideoView):
    """POST /api/update-doctor-meet {doctorID, referralID, meetID}: that doctor left the referral's meeting."""

    @extend_schema(request=DoctorMeetRequestSerializer, operation_id="dashboard_update_doctor_meet",
                   responses={200: data_envelope("DoctorMeetResponse", ReferralSerializer())})
    def post(self, request):
        data = self.payload(DoctorMeetRequestSerializer)
        referral = video.referral_doctor_left(clinic=self.clinic, doctor_id=data["doctorID"],
                                              referral_id=data["referralID"], meeting_id=data["meetID"], actor=request)
        return Response({"data": ReferralSerializer(referral).data})


class WebhookMeetingSerializer(serializers.Serializer):
    id = serializers.CharField(required=False)
    sessionId = serializers.CharField(required=False)
    title = serializers.CharField()
    status = serializers.CharField(required=False)


class WebhookRequestSerializer(serializers.Serializer):
    event = serializers.CharField()
    meeting = WebhookMeetingSerializer()
    reason = serializers.CharField(required=False, allow_blank=True)


class DyteWebhook(DASHBOARD.view, APIView):
    """POST /api/dyte/webhook: Dyte's meeting events, verified by `dyte-signature` under DYTE_WEBHOOK_PUBLIC_KEY
    (telephony.backends.video.verify_webhook); 503 WEBHOOK_NOT_CONFIGURED while no key is set. No clinic
    credential, never rate limited."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(request=WebhookRequestSerializer, operation_id="dashboard_dyte_webhook",
                   responses={200: inline_serializer("DyteWebhookResponse", {"message": serializers.CharField()})})
    def post(self, request):
        video.video_webhook_receive(raw=request.body, signature=request.headers.get("dyte-signature", ""))
        return Response({"message": WEBHOOK_DONE})


def local_join(request, token):
    """GET /attendance-service/video/join/<token>: the local backend's join page (the token is the credential).

    It lets a person open a meeting of the offline `local` video backend: who joins, which meeting, and who else
    was let in. Dyte's own client replaces it when PROVIDERS["video"] is "dyte"."""
    opened = LocalVideoBackend.open_token(token)
    participant = (VideoParticipant.objects.select_related("meeting").filter(
        provider_participant_id=str(opened.get("participant")), meeting__provider="local",
        meeting__provider_meeting_id=str(opened.get("meeting"))).first() if opened else None)
    if participant is None:
        return render(request, "telephony/video_join.html", {"participant": None}, status=404)
    others = participant.meeting.participants.exclude(pk=participant.pk).order_by("created_at")
    return render(request, "telephony/video_join.html", {"participant": participant, "meeting": participant.meeting,
                                                         "others": others})
