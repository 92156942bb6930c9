"""Calls and call analytics, written once and mounted on the /v1 and dashboard surfaces."""
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from config.surfaces.tenancy import ClinicScopedMixin
from config.surfaces import DASHBOARD, V1
from scheduling.api.privacy import PiiReadMixin
from telephony import selectors, services
from telephony.filters import CallFilterSet
from telephony.models import Call

from . import serializers

STATUS_PARAMETER = OpenApiParameter("status", str, enum=Call.Status.values, required=False)


class CallQuerysetMixin(PiiReadMixin, ClinicScopedMixin):
    pii_object = "call"
    queryset = Call.objects.all()

    def get_queryset(self):
        filters = CallFilterSet(self.request.query_params, queryset=selectors.calls_for(self.clinic))
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        return filters.qs

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "clinic": self.clinic}


# --- /v1 (docs/api/clinic-v1.md, Calls)
@extend_schema(parameters=[STATUS_PARAMETER])
class CallV1List(V1.view, CallQuerysetMixin, generics.ListAPIView):
    """GET /v1/calls: the clinic's calls, newest first, keyset cursor pagination."""

    serializer_class = serializers.CallV1Serializer
    cursor_fields = (("createdAt", "-created_at"), ("id", "-id"))


class CallV1Detail(V1.view, CallQuerysetMixin, generics.RetrieveAPIView):
    """GET /v1/calls/:id: one call with its transcript and tool calls."""

    serializer_class = serializers.CallDetailV1Serializer


class CallV1Callback(V1.view, CallQuerysetMixin, generics.GenericAPIView):
    """POST /v1/calls/:id/callback: record an outbound call back to the caller (placed by the voice provider);
    the same use case as POST /api/calls."""

    serializer_class = serializers.CallV1Serializer

    @extend_schema(request=serializers.CallbackV1RequestSerializer, responses={201: serializers.CallV1Serializer})
    def post(self, request, *args, **kwargs):
        call = self.get_object()
        payload = serializers.CallbackV1RequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        callback = services.call_request_callback(clinic=self.clinic, call=call,
                                                  scheduled_at=payload.validated_data.get("scheduledAt"), actor=request)
        return Response(self.get_serializer(callback).data, status=status.HTTP_201_CREATED)


class CallV1Recording(V1.view, CallQuerysetMixin, generics.GenericAPIView):
    """GET /v1/calls/:id/recording: a link to the recording the voice provider's `post_call_audio` event stored,
    valid for 24 hours; the read is audited."""

    serializer_class = serializers.RecordingLinkV1Serializer

    def get(self, request, *args, **kwargs):
        url, expires_at = services.call_recording_link(clinic=self.clinic, call=self.get_object(), actor=request)
        return Response({"url": url, "expiresAt": expires_at.isoformat()})


def recording_file(request, token):
    """The file behind a local recording link; the signed token is the only credential (like a presigned URL)."""
    call = selectors.call_for_recording_token(token)
    if call is None or not default_storage.exists(call.recording_path):
        raise Http404
    return FileResponse(default_storage.open(call.recording_path, "rb"), as_attachment=False)


# --- dashboard (docs/api/dashboard.md, Calls and Analytics)
@extend_schema(parameters=[STATUS_PARAMETER])
class CallDashboardListCreate(DASHBOARD.view, CallQuerysetMixin, generics.ListCreateAPIView):
    """GET /api/calls lists calls (status filter, page/per_page); POST schedules or starts an outbound call back
    to a number (the same use case as POST /v1/calls/:id/callback)."""

    serializer_class = serializers.CallDashboardSerializer
    results_key = "calls"

    def get_queryset(self):
        return super().get_queryset().order_by("-created_at", "-id")

    @extend_schema(request=serializers.CallCreateSerializer, responses={201: serializers.CallDashboardSerializer})
    def post(self, request, *args, **kwargs):
        payload = serializers.CallCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        call = services.call_request_callback(clinic=self.clinic, phone_number=payload.validated_data["phone_number"],
                                              scheduled_at=payload.validated_data.get("scheduled_at"), actor=request)
        body = serializers.CallDashboardSerializer(call, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)


class ConversationList(DASHBOARD.view, PiiReadMixin, ClinicScopedMixin, generics.ListAPIView):
    """GET /api/analytics/conversations: the voice agent's conversations, page/per_page."""

    queryset = Call.objects.all()
    serializer_class = serializers.ConversationSerializer
    pii_object = "call"
    results_key = "conversations"

    def get_queryset(self):
        return selectors.conversations_for(self.clinic)


class ConversationDetail(DASHBOARD.view, PiiReadMixin, ClinicScopedMixin, generics.RetrieveAPIView):
    """GET /api/analytics/conversation/{conversation_id}."""

    queryset = Call.objects.all()
    serializer_class = serializers.ConversationDetailSerializer
    pii_object = "call"
    lookup_field = "conversation_id"


class CallStats(DASHBOARD.view, ClinicScopedMixin, APIView):
    """GET /api/analytics/stats?days=7: call KPIs aggregated in SQL."""

    @extend_schema(parameters=[OpenApiParameter("days", int, required=False, default=7)],
                   responses=serializers.CallStatsSerializer)
    def get(self, request):
        query = serializers.StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(selectors.call_stats(self.clinic, query.validated_data["days"]))
