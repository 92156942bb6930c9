"""Shapes of the clinics app on the dashboard (docs/api/dashboard.md, snake_case) and the clinic API
(docs/api/clinic-v1.md, camelCase). Every input is bounded so nothing the database would refuse reaches it."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..bounded_json import json_problem
from ..models import ApiKey, AuditEvent, Clinic, Membership

TOKEN_MAX_LENGTH = 2000


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=256)
    company_name = serializers.CharField(max_length=200)


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(trim_whitespace=False, max_length=256)
    clinic_id = serializers.UUIDField(required=False, allow_null=True)
    # The authenticator code of a user with two-factor (docs/api/dashboard.md, Authentication); `totp_code` is
    # accepted as another name of the same field.
    otp = serializers.CharField(required=False, allow_blank=True, max_length=12)
    totp_code = serializers.CharField(required=False, allow_blank=True, max_length=12, write_only=True)

    def validate(self, attrs):
        code = attrs.pop("totp_code", "")
        attrs["otp"] = attrs.get("otp") or code
        return attrs


class RefreshSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(max_length=TOKEN_MAX_LENGTH)


class LogoutSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(required=False, allow_blank=True, max_length=TOKEN_MAX_LENGTH)


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    permissions = serializers.ListField(child=serializers.ChoiceField(choices=ApiKey.Permission.choices),
                                        allow_empty=False, max_length=3, default=lambda: list(ApiKey.FULL_ACCESS))
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeySerializer(serializers.ModelSerializer):
    key_preview = serializers.CharField(source="preview")
    status = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = ["id", "name", "key_preview", "permissions", "status", "expires_at", "last_used_at", "revoked_at",
                  "created_at"]

    def get_status(self, key) -> str:
        from django.utils import timezone

        if key.revoked_at:
            return "revoked"
        if key.expires_at and key.expires_at <= timezone.now():
            return "expired"
        return "active"


class TeamMemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    status = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "email", "role", "status", "joined_at"]

    def get_status(self, membership) -> str:
        return "active" if membership.user.is_active else "disabled"


class InviteSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class TenantSerializer(serializers.ModelSerializer):
    """`/v1/tenants/me`: the clinic's configuration in the clinic API's camelCase."""

    voice = serializers.JSONField(source="voice_settings", required=False)
    bookingRules = serializers.JSONField(source="booking_rules", required=False)  # noqa: N815 (API name)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815

    class Meta:
        model = Clinic
        fields = ["id", "name", "slug", "timezone", "locale", "phone", "email", "address", "kind", "voice",
                  "bookingRules", "createdAt"]
        read_only_fields = ["id"]
        extra_kwargs = {"slug": {"validators": []}}

    def validate_voice(self, value):
        return _settings_object(value)

    def validate_bookingRules(self, value):  # noqa: N802 (DRF names validators after the field)
        return _settings_object(value)


def _settings_object(value):
    if not isinstance(value, dict):
        raise serializers.ValidationError(_("Must be an object."))
    problem = json_problem(value)
    if problem:
        raise serializers.ValidationError(problem)
    return value


class AuditEventSerializer(serializers.ModelSerializer):
    clinicId = serializers.UUIDField(source="clinic_id")  # noqa: N815
    actorKind = serializers.CharField(source="actor_kind")  # noqa: N815
    actorId = serializers.CharField(source="actor_id")  # noqa: N815
    actorLabel = serializers.CharField(source="actor_label")  # noqa: N815
    objectType = serializers.CharField(source="object_type")  # noqa: N815
    objectId = serializers.CharField(source="object_id")  # noqa: N815
    userAgent = serializers.CharField(source="user_agent")  # noqa: N815
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815

    class Meta:
        model = AuditEvent
        fields = ["id", "clinicId", "actorKind", "actorId", "actorLabel", "action", "objectType", "objectId",
                  "purpose", "ip", "userAgent", "extra", "createdAt"]


# --- Response shapes, for the OpenAPI document -------------------------------------------------------------


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField()
    refresh_token = serializers.CharField()
    expires_in = serializers.IntegerField()


class AccountSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    company_name = serializers.CharField()
    plan = serializers.CharField()


class AgentSummarySerializer(serializers.Serializer):
    agent_id = serializers.CharField()
    agent_name = serializers.CharField()
    status = serializers.CharField()


class SessionSerializer(TokenPairSerializer):
    user = AccountSerializer()
    agent = AgentSummarySerializer()
    features = serializers.DictField()
    clinic = serializers.DictField()


class MeSerializer(AccountSerializer):
    subscription_status = serializers.CharField()
    features = serializers.DictField()
    role = serializers.CharField()
    clinic_id = serializers.UUIDField()
    clinics = serializers.ListField(child=serializers.DictField())


class NewApiKeySerializer(ApiKeySerializer):
    full_key = serializers.CharField(help_text=_("Shown only once."))

    class Meta(ApiKeySerializer.Meta):
        fields = ApiKeySerializer.Meta.fields + ["full_key"]


class InvitationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    role = serializers.CharField()
    invitation_token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class NotificationSettingsSerializer(serializers.Serializer):
    email_notifications = serializers.DictField(child=serializers.BooleanField(), required=False)
    sms_notifications = serializers.DictField(child=serializers.BooleanField(), required=False)
