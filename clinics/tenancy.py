"""Every query is scoped to the caller's clinic: another clinic's object simply does not exist (404)."""
from rest_framework.permissions import IsAuthenticated

from .permissions import HasClinicScope


class ClinicScopedMixin:
    """For DRF views: `queryset` is narrowed to `request.auth.clinic`; new rows get that clinic."""

    clinic_field = "clinic"
    permission_classes = [IsAuthenticated, HasClinicScope]

    @property
    def clinic(self):
        return self.request.auth.clinic

    def get_queryset(self):
        return super().get_queryset().filter(**{self.clinic_field: self.clinic})

    def perform_create(self, serializer):
        serializer.save(**{self.clinic_field: self.clinic})
