"""The API edge of tenancy: a DRF view's queryset is its model's rows of `request.auth.clinic`."""
from rest_framework.permissions import IsAuthenticated

from clinics.api.permissions import HasClinicScope


class ClinicScopedMixin:
    """For DRF views: `queryset` is narrowed with `.for_clinic(request.auth.clinic)`; new rows get that clinic."""

    permission_classes = [IsAuthenticated, HasClinicScope]

    @property
    def clinic(self):
        return self.request.auth.clinic

    def get_queryset(self):
        return super().get_queryset().for_clinic(self.clinic)

    def perform_create(self, serializer):
        serializer.save(clinic=self.clinic)
