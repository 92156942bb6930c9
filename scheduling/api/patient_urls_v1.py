"""Patient routes on the v1 surface (docs/api/clinic-v1.md), kept apart from scheduling's own module."""
from django.urls import path

from . import patients

urlpatterns = [
    path("patients", patients.PatientV1List.as_view(), name="v1-patients"),
    path("patients/<str:hash>", patients.PatientV1Detail.as_view(), name="v1-patient-detail"),
]
