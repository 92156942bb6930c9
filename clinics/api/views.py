"""Thin HTTP views of the clinics app; the rules live in clinics.services and clinics.selectors."""
from datetime import datetime, time, timedelta, timezone as dt_timezone

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers as drf_serializers, status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.surfaces import DASHBOARD, V1

from .. import audit, selectors, services
from ..errors import RateLimited
from ..models import AuditEvent
from .permissions import ActsAsClinicAdmin, HasClinicScope, IsClinicAdmin, IsClinicMember
from . import serializers


def _account(membership):
    clinic = membership.clinic
    return {"id": str(membership.user_id), "email": membership.user.email, "company_name": clinic.name,
            "plan": selectors.plan_of(clinic)}


# --- Dashboard (docs/api/dashboard.md) -----------------------------------------------------------------------------------


class PublicAuthView(DASHBOARD.view, APIView):
    """Register, login and refresh take no credential; a stale header must not turn them into 401s."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request):
        # Without authenticators DRF would turn "invalid credentials" into 403; these answer 401.
        return 'Bearer realm="api"'


class RegisterView(PublicAuthView):
    @extend_schema(request=serializers.RegisterSerializer, responses={201: inline_serializer("Registered", {
        "id": drf_serializers.UUIDField(), "email": drf_serializers.EmailField(),
        "company_name": drf_serializers.CharField(), "created_at": drf_serializers.DateTimeField()})})
    def post(self, request):
        data = serializers.RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.account_register(actor=request, **data.validated_data)
        return Response({"id": str(membership.user_id), "email": membership.user.email,
                         "company_name": membership.clinic.name, "clinic_id": str(membership.clinic_id),
                         "created_at": membership.user.date_joined}, status=status.HTTP_201_CREATED)


class LoginView(PublicAuthView):
    @extend_schema(request=serializers.LoginSerializer, responses={200: serializers.SessionSerializer,
                                                                   401: OpenApiResponse(description="Invalid credentials"),
                                                                   429: OpenApiResponse(description="Locked")})
    def post(self, request):
        data = serializers.LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            membership, body = services.session_login(actor=request, **data.validated_data)
        except RateLimited as error:
            # DRF's 429 carries the Retry-After header the locked-out client needs.
            raise Throttled(wait=error.retry_after, detail=error.message)
        body.update({"user": _account(membership), "agent": selectors.agent_summary(membership.clinic),
                     "features": selectors.features_of(membership.clinic),
                     "clinic": {"id": str(membership.clinic_id), "name": membership.clinic.name,
                                "role": membership.role}})
        return Response(body)


class RefreshView(PublicAuthView):
    @extend_schema(request=serializers.RefreshSerializer, responses={200: serializers.TokenPairSerializer})
    def post(self, request):
        data = serializers.RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.session_refresh(refresh_token=data.validated_data["refresh_token"]))


class LogoutView(DASHBOARD.view, APIView):
    permission_classes = [IsAuthenticated, IsClinicMember]

    @extend_schema(request=serializers.LogoutSerializer, responses={200: serializers.MessageSerializer})
    def post(self, request):
        data = serializers.LogoutSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.session_logout(actor=request, refresh_token=data.validated_data.get("refresh_token"))
        return Response({"message": _("Successfully logged out")})


class MeView(DASHBOARD.view, APIView):
    permission_classes = [IsAuthenticated, IsClinicMember]

    @extend_schema(responses={200: serializers.MeSerializer})
    def get(self, request):
        membership = request.auth.membership
        clinic = membership.clinic
        body = _account(membership)
        body.update({
            "subscription_status": selectors.subscription_status_of(clinic),
            "features": selectors.features_of(clinic),
            "role": membership.role,
            "clinic_id": str(clinic.id),
            "clinics": [{"id": str(other.clinic_id), "name": other.clinic.name, "role": other.role}
                        for other in selectors.memberships_of(request.user)],
        })
        return Response(body)


class ApiKeyListCreateView(DASHBOARD.view, APIView):
    permission_classes = [IsAuthenticated, IsClinicAdmin]

    @extend_schema(responses={200: serializers.ApiKeySerializer(many=True)})
    def get(self, request):
        keys = selectors.api_keys_of(request.auth.clinic)
        return Response(serializers.ApiKeySerializer(keys, many=True).data)

    @extend_schema(request=serializers.ApiKeyCreateSerializer, responses={201: serializers.NewApiKeySerializer})
    def post(self, request):
        data = serializers.ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key, raw = services.api_key_create(clinic=request.auth.clinic, actor=request, **data.validated_data)
        body = serializers.ApiKeySerializer(key).data
        body["full_key"] = raw
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(DASHBOARD.view, APIView):
    permission_classes = [IsAuthenticated, IsClinicAdmin]

    @extend_schema(responses={200: serializers.MessageSerializer})
    def delete(self, request, key_id):
        services.api_key_revoke(clinic=request.auth.clinic, actor=request, key_id=key_id)
        return Response({"message": _("API key revoked")})


class TeamMembersView(DASHBOARD.view, APIView):
    permission_classes = [IsAuthenticated, HasClinicScope]

    @extend_schema(responses={200: serializers.TeamMemberSerializer(many=True)})
    def get(self, request):
        clinic = request.auth.clinic
        members = serializers.TeamMemberSerializer(selectors.team_members(clinic), many=True).data
        invited = [{"id": str(invitation.id), "email": invitation.email, "role": invitation.role,
                    "status": "pending", "joined_at": None, "expires_at": invitation.expires_at}
                   for invitation in selectors.pending_invitations(clinic)]
        audit.record(request, "team.members_read", "clinic", clinic.id, purpose="team management")
        return Response(list(members) + invited)


class TeamInviteView(DASHBOARD.view, APIView):
    permission_classes = [IsAuthenticated, IsClinicAdmin]

    @extend_schema(request=serializers.InviteSerializer, responses={201: serializers.InvitationSerializer})
    def post(self, request):
        data = serializers.InviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, raw = services.invitation_create(clinic=request.auth.clinic, actor=request,
                                                     **data.validated_data)
        return Response({"id": str(invitation.id), "email": invitation.email, "role": invitation.role,
                         "invitation_token": raw, "expires_at": invitation.expires_at},
                        status=status.HTTP_201_CREATED)


class TeamMemberDetailView(DASHBOARD.view, APIView):
    permission_classes = [IsAuthenticated, IsClinicAdmin]

    @extend_schema(responses={200: serializers.MessageSerializer})
    def delete(self, request, member_id):
        services.member_remove(clinic=request.auth.clinic, actor=request, member_id=member_id)
        return Response({"message": _("Team member removed successfully")})


class NotificationSettingsView(DASHBOARD.view, APIView):
    permission_classes = [IsAuthenticated, IsClinicMember]

    @extend_schema(responses={200: serializers.NotificationSettingsSerializer})
    def get(self, request):
        return Response(selectors.notification_settings(request.auth.membership))

    @extend_schema(request=serializers.NotificationSettingsSerializer,
                   responses={200: serializers.NotificationSettingsSerializer})
    def put(self, request):
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": [_("Expected an object.")]})
        return Response(services.notification_settings_update(membership=request.auth.membership,
                                                              changes=dict(request.data), actor=request))


# --- Clinic API v1 (docs/api/clinic-v1.md) -------------------------------------------------------------------------------


class TenantMeView(V1.view, APIView):
    """`GET/PATCH /v1/tenants/me`: any credential reads; changing the clinic takes an admin."""

    def get_permissions(self):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [IsAuthenticated(), HasClinicScope()]
        return [IsAuthenticated(), ActsAsClinicAdmin()]

    @extend_schema(responses={200: serializers.TenantSerializer})
    def get(self, request):
        return Response(serializers.TenantSerializer(request.auth.clinic).data)

    @extend_schema(request=serializers.TenantSerializer, responses={200: serializers.TenantSerializer})
    def patch(self, request):
        data = serializers.TenantSerializer(request.auth.clinic, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        clinic = services.clinic_update(clinic=request.auth.clinic, actor=request, changes=data.validated_data)
        return Response(serializers.TenantSerializer(clinic).data)


def _moment(raw, name, end=False):
    """An aware datetime from an ISO 8601 date-time, or the start of a date (the next day's start for `end`).
    Anything else, an impossible date (30 February) or one at the calendar's edge included, is a 400 on `name`."""
    try:
        day = parse_date(raw) if len(raw) == 10 else None
        if day is not None:
            if end:
                day += timedelta(days=1)
            return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())
        value = parse_datetime(raw)
        if value is not None and value.tzinfo is not None:
            value.astimezone(dt_timezone.utc)  # a date-time at the very end of the calendar has no UTC instant
    except (ValueError, OverflowError):
        value = None
    if value is None:
        raise ValidationError({name: [_("Use an ISO 8601 date or date-time.")]})
    if value.tzinfo is None:
        raise ValidationError({name: [_("Include the time zone offset.")]})
    return value


# The audit filters and the longest value each column holds: anything longer matches nothing, and is refused.
AUDIT_TEXT_FILTERS = (("actor", "actor_label", 254), ("actorKind", "actor_kind", 10), ("action", "action", 80),
                      ("objectType", "object_type", 80), ("objectId", "object_id", 80))


def _audit_text(params, name, limit):
    value = params.get(name, "")
    if len(value) > limit:
        raise ValidationError({name: [_("Keep it under %(limit)d characters.") % {"limit": limit}]})
    return value


class AuditLogView(V1.view, generics.ListAPIView):
    """`GET /v1/audit`: the clinic's RGPD log, newest first; filters actor, actorKind, action, objectType,
    objectId, from, to (`to` given as a date includes that whole day)."""

    permission_classes = [IsAuthenticated, ActsAsClinicAdmin]
    serializer_class = serializers.AuditEventSerializer
    cursor_fields = (("createdAt", "-created_at"), ("id", "-id"))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        events = selectors.audit_events(self.request.auth.clinic)
        params = self.request.query_params
        values = {name: _audit_text(params, name, limit) for name, _field, limit in AUDIT_TEXT_FILTERS}
        if values["actor"]:
            events = events.filter(Q(actor_id=values["actor"]) | Q(actor_label__iexact=values["actor"]))
        for param, field, _limit in AUDIT_TEXT_FILTERS[1:]:
            if values[param]:
                events = events.filter(**{field: values[param]})
        if params.get("from"):
            events = events.filter(created_at__gte=_moment(params["from"], "from"))
        if params.get("to"):
            raw = params["to"]
            # A bare date includes that whole day; a date-time is an inclusive bound.
            bound = "created_at__lt" if len(raw) == 10 else "created_at__lte"
            events = events.filter(**{bound: _moment(raw, "to", end=True)})
        return events
