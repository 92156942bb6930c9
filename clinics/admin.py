"""Django admin for support staff: tenants and people editable, credentials without secrets, audit read-only."""
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .admin_scoping import ClinicScopedAdmin, ClinicScopedInline, ReadOnlyScopedAdmin, superuser_only
from .models import ApiKey, AuditEvent, Clinic, Invitation, Membership, User

# Tables of other packages (groups and permissions, TOTP devices, OAuth applications and tokens) span clinics:
# only superusers see them. Their admin modules are imported first so that these registrations replace theirs.
import django.contrib.auth.admin  # noqa: E402,F401
import django_otp.plugins.otp_totp.admin  # noqa: E402,F401
import oauth2_provider.admin  # noqa: E402,F401

for _model, _model_admin in list(admin.site._registry.items()):
    if _model._meta.app_label in ("auth", "otp_totp", "oauth2_provider"):
        admin.site.unregister(_model)
        admin.site.register(_model, superuser_only(type(_model_admin)))


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """People span clinics, so only superusers manage them (and which clinics each support user sees)."""

    ordering = ["email"]
    list_display = ["email", "is_active", "is_staff", "date_joined", "last_login"]
    search_fields = ["email"]
    fieldsets = BaseUserAdmin.fieldsets + (("Support", {"fields": ["support_clinics"]}),)
    filter_horizontal = [*BaseUserAdmin.filter_horizontal, "support_clinics"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.none()


class MembershipInline(ClinicScopedInline, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "joined_at"]


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    list_display = ["name", "slug", "kind", "timezone", "locale", "created_at"]
    list_filter = ["kind", "locale"]
    search_fields = ["name", "slug", "email"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(ClinicScopedAdmin):
    list_display = ["user", "clinic", "role", "joined_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "clinic__name"]
    autocomplete_fields = ["user", "clinic"]
    exclude = ["notification_settings"]


@admin.register(ApiKey)
class ApiKeyAdmin(ClinicScopedAdmin):
    """Keys are listed by preview only: the digest never appears and keys are made through the console/API."""

    list_display = ["name", "clinic", "preview", "permissions", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "preview", "clinic__name"]
    fields = ["clinic", "name", "preview", "permissions", "created_by", "expires_at", "revoked_at",
              "last_used_at", "created_at"]
    readonly_fields = ["clinic", "preview", "permissions", "created_by", "last_used_at", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # A revocation is final: a revoked key is read-only, so nobody brings a leaked key back to life.
        if obj is not None and obj.revoked_at is not None:
            return False
        return super().has_change_permission(request, obj)


@admin.register(Invitation)
class InvitationAdmin(ClinicScopedAdmin):
    list_display = ["email", "clinic", "role", "expires_at", "accepted_at", "revoked_at"]
    search_fields = ["email", "clinic__name"]
    exclude = ["digest"]
    readonly_fields = ["clinic", "email", "role", "invited_by", "accepted_at", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyScopedAdmin):
    """The RGPD log for support staff: searchable, never editable."""

    list_display = ["created_at", "clinic_id", "actor_kind", "actor_label", "action", "object_type", "object_id",
                    "ip"]
    list_filter = ["actor_kind", "action"]
    search_fields = ["actor_label", "actor_id", "object_id", "action"]
    date_hierarchy = "created_at"
    list_select_related = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]
