"""Django admin for support staff, one clinic at a time: a staff user sees only the clinics they support
(`User.support_clinics`), and another clinic's object answers 404 there as everywhere else. Superusers see all.
Models with no clinic are for superusers only."""
from django.contrib import admin
from django.http import Http404


def supported_clinic_ids(user):
    return list(user.support_clinics.values_list("pk", flat=True))


class ClinicScopedAdmin(admin.ModelAdmin):
    """`clinic_lookup` is the path from the model to its clinic; found by itself for `Clinic` and a `clinic` field."""

    clinic_lookup = None

    def _lookup(self):
        from .models import Clinic

        if self.clinic_lookup:
            return self.clinic_lookup
        if self.model is Clinic:
            return "pk"
        if any(field.name == "clinic" for field in self.model._meta.get_fields()):
            return "clinic"
        return None

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        lookup = self._lookup()
        if lookup is None:
            return queryset.none()
        return queryset.filter(**{f"{lookup}__in": supported_clinic_ids(request.user)})

    def has_module_permission(self, request):
        if not request.user.is_superuser and self._lookup() is None:
            return False
        return super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        if not request.user.is_superuser and self._lookup() is None:
            return False
        return super().has_view_permission(request, obj)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Admin redirects to the list by default; an object outside the user's clinics simply does not exist.
        raise Http404
