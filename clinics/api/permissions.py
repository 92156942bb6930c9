"""Scope checks shared by every surface: reads need `read`, writes need `write`."""
from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from ..credentials import Credential


class HasClinicScope(permissions.BasePermission):
    """Authenticated for a clinic, with `read` for safe methods and `write` for the rest."""

    message = _("Insufficient permissions")

    def has_permission(self, request, view):
        credential = request.auth
        if not isinstance(credential, Credential):
            return False
        needed = getattr(view, "required_scope", None) or (
            "read" if request.method in permissions.SAFE_METHODS else "write")
        return credential.can(needed)


class IsClinicAdmin(HasClinicScope):
    """A clinic admin signed in as a person (dashboard JWT): manages team, API keys and billing.

    API keys and OAuth tokens never carry the `admin` scope, so an integration cannot mint keys or invite people.
    """

    def has_permission(self, request, view):
        return isinstance(request.auth, Credential) and request.auth.can("admin")


class ActsAsClinicAdmin(HasClinicScope):
    """Admin-level reads and clinic settings: an admin member (any credential) or an API key with `write`,
    which the clinic API (docs/api/clinic-v1.md) treats as the clinic's own administrator. The method's scope
    still applies."""

    def has_permission(self, request, view):
        return super().has_permission(request, view) and request.auth.role == "admin"


class IsClinicMember(permissions.BasePermission):
    """A person acting through their membership (JWT or OAuth), not an API key; personal settings need no scope."""

    message = _("Insufficient permissions")

    def has_permission(self, request, view):
        return isinstance(request.auth, Credential) and request.auth.membership is not None
