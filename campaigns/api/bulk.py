"""Bulk SMS campaigns on the clinic API (/v1/campaigns...) and the voice API (GET /api/v1/campaigns)."""
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.surfaces.tenancy import ClinicScopedMixin
from config.surfaces import V1, VOICE
from .. import bulk
from ..filters import CampaignFilterSet
from ..models import Campaign


class AudienceSerializer(serializers.Serializer):
    """Who to reach; every filter is optional and they combine with AND (a patient needs one of the tags)."""

    tags = serializers.ListField(child=serializers.CharField(max_length=bulk.MAX_TAG_LENGTH), required=False,
                                 max_length=bulk.MAX_AUDIENCE_TAGS)
    lastVisitBefore = serializers.DateTimeField(required=False, allow_null=True)
    lastVisitAfter = serializers.DateTimeField(required=False, allow_null=True)
    professionalId = serializers.UUIDField(required=False, allow_null=True)
    serviceId = serializers.UUIDField(required=False, allow_null=True)
    hasFutureAppointment = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        # Whether the professional and service are the clinic's is the service's rule (bulk.check_audience).
        before, after = attrs.get("lastVisitBefore"), attrs.get("lastVisitAfter")
        return bulk.Audience(tags=attrs.get("tags") or None, last_visit_before=before, last_visit_after=after,
                             professional_id=attrs.get("professionalId"), service_id=attrs.get("serviceId"),
                             has_future_appointment=attrs.get("hasFutureAppointment"))


class PreviewRequestSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=bulk.MAX_MESSAGE_LENGTH, trim_whitespace=False)
    audience = AudienceSerializer(required=False)

    def validate_message(self, value):
        if not value.strip():
            raise serializers.ValidationError(_("This field may not be blank."))
        unknown = bulk.unknown_placeholders(value)
        if unknown:
            raise serializers.ValidationError(_("Unknown placeholders: %(names)s. Use {name} and {clinic}.")
                                              % {"names": ", ".join("{%s}" % word for word in unknown)})
        return value

    def validate(self, attrs):
        if "audience" not in attrs:
            attrs["audience"] = bulk.Audience()
        return attrs


class CampaignCreateSerializer(PreviewRequestSerializer):
    name = serializers.CharField(max_length=bulk.MAX_NAME_LENGTH)


class SegmentsSerializer(serializers.Serializer):
    encoding = serializers.ChoiceField(choices=["GSM-7", "UCS-2"])
    perMessage = serializers.IntegerField()
    total = serializers.IntegerField()


class MoneySerializer(serializers.Serializer):
    amount = serializers.IntegerField(help_text="minor units")
    currency = serializers.CharField()


class ExcludedSerializer(serializers.Serializer):
    noPhone = serializers.IntegerField()
    smsRefused = serializers.IntegerField()
    noMarketingConsent = serializers.IntegerField()


class PreviewSerializer(serializers.Serializer):
    """Documents the estimate: `targets` will receive the SMS; `excluded` were matched but may not be texted."""

    matched = serializers.IntegerField()
    targets = serializers.IntegerField()
    excluded = ExcludedSerializer()
    segments = SegmentsSerializer()
    estimatedCost = MoneySerializer()


class CountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class WaitingSerializer(serializers.Serializer):
    """Why a sending campaign sends nothing right now, and until when (null: until the task queue is back)."""

    reason = serializers.ChoiceField(choices=["quietHours", "rateLimit", "notStarted"])
    until = serializers.DateTimeField(allow_null=True)


class CampaignSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    message = serializers.CharField()
    audience = serializers.JSONField()
    status = serializers.ChoiceField(choices=Campaign.Status.values)
    counts = serializers.SerializerMethodField()
    estimatedSegments = serializers.IntegerField(source="estimated_segments")
    estimatedCost = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    cancelledAt = serializers.DateTimeField(source="cancelled_at", allow_null=True)
    waiting = serializers.SerializerMethodField()

    @extend_schema_field(WaitingSerializer(allow_null=True))
    def get_waiting(self, campaign) -> dict | None:
        waiting = bulk.campaign_waiting(campaign)
        return WaitingSerializer(waiting).data if waiting else None

    @extend_schema(responses=CountsSerializer)
    def get_counts(self, campaign) -> dict:
        return bulk.counts_of(campaign)

    @extend_schema(responses=MoneySerializer)
    def get_estimatedCost(self, campaign) -> dict:
        return {"amount": campaign.estimated_cost, "currency": campaign.currency}


class CampaignScoped(ClinicScopedMixin):
    queryset = Campaign.objects.all()

    def get_queryset(self):
        return bulk.campaigns_for(self.clinic)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "clinic": self.clinic}

    def campaign(self, pk):
        return get_object_or_404(bulk.campaigns_for(self.clinic), pk=pk)  # whatever a list's filters say


class CampaignListScoped(CampaignScoped):
    """The campaign lists of every surface, narrowed by `CampaignFilterSet` (the console's list uses it too)."""

    def get_queryset(self):
        filters = CampaignFilterSet(self.request.query_params, queryset=super().get_queryset())
        if not filters.is_valid():
            raise serializers.ValidationError(filters.errors)
        return filters.qs


STATUS_PARAMETER = OpenApiParameter("status", str, enum=Campaign.Status.values, required=False)


class CampaignPreviewV1(V1.view, CampaignScoped, APIView):
    """POST /v1/campaigns/preview: how many patients a campaign would reach, who is left out and why, its cost."""

    required_scope = "read"

    @extend_schema(request=PreviewRequestSerializer, responses={200: PreviewSerializer},
                   operation_id="v1_campaigns_preview")
    def post(self, request):
        payload = PreviewRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return Response(bulk.campaign_preview(clinic=self.clinic, message=payload.validated_data["message"],
                                              audience=payload.validated_data["audience"]))


@extend_schema_view(get=extend_schema(parameters=[STATUS_PARAMETER]))
class CampaignListCreateV1(V1.view, CampaignListScoped, generics.ListAPIView):
    """GET /v1/campaigns (newest first, cursor; filter `status`); POST creates the campaign and queues its sending (the task sends
    it in batches; the answer comes back before any SMS leaves)."""

    serializer_class = CampaignSerializer
    cursor_fields = (("createdAt", "-created_at"), ("id", "-id"))

    @extend_schema(request=CampaignCreateSerializer, responses={201: CampaignSerializer},
                   operation_id="v1_campaigns_create")
    def post(self, request):
        payload = CampaignCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        campaign = bulk.campaign_send(clinic=self.clinic, name=data["name"], message=data["message"],
                                      audience=data["audience"], created_by=request.auth.membership, actor=request)
        return Response(CampaignSerializer(self.campaign(campaign.pk)).data, status=status.HTTP_201_CREATED)


class CampaignDetailV1(V1.view, CampaignScoped, generics.RetrieveAPIView):
    """GET /v1/campaigns/:id: status and how many were sent, failed, are pending or were cancelled."""

    serializer_class = CampaignSerializer


class CampaignCancelV1(V1.view, CampaignScoped, APIView):
    """POST /v1/campaigns/:id/cancel: no further recipient is texted; 409 once the campaign completed."""

    @extend_schema(request=None, responses={200: CampaignSerializer}, operation_id="v1_campaigns_cancel")
    def post(self, request, pk):
        campaign = bulk.campaign_cancel(clinic=self.clinic, campaign=self.campaign(pk), actor=request)
        return Response(CampaignSerializer(self.campaign(campaign.pk)).data)


@extend_schema(parameters=[STATUS_PARAMETER])
class CampaignVoiceList(VOICE.view, CampaignListScoped, generics.ListAPIView):
    """GET /api/v1/campaigns (page/per_page; filter `status`), newest first."""

    serializer_class = CampaignSerializer

    def get_queryset(self):
        return super().get_queryset().order_by("-created_at", "-id")
