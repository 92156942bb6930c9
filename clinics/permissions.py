"""Scope checks shared by every surface: reads need `read`, writes need `write`."""
from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from .authentication import Credential


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
    def has_permission(self, request, view):
        return isinstance(request.auth, Credential) and request.auth.can("admin")
