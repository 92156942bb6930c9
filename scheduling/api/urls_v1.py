"""Routes of the scheduling app on the v1 surface (docs/api/clinic-v1.md)."""
from django.urls import include, path

from config.surfaces import V1

from . import imports, views


class ProfessionalsV1(V1.view, views.ProfessionalListView):
    pass


class ProfessionalV1(V1.view, views.ProfessionalDetailView):
    pass


class ServicesV1(V1.view, views.ServiceListView):
    pass


class ServiceV1(V1.view, views.ServiceDetailView):
    pass


class AppointmentsV1(V1.view, views.AppointmentListView):
    pass


class AppointmentV1(V1.view, views.AppointmentDetailView):
    pass


urlpatterns = [
    path("professionals", ProfessionalsV1.as_view(), name="v1-professionals"),
    path("professionals/<uuid:pk>", ProfessionalV1.as_view(), name="v1-professional"),
    path("services", ServicesV1.as_view(), name="v1-services"),
    path("services/<uuid:pk>", ServiceV1.as_view(), name="v1-service"),
    path("appointments", AppointmentsV1.as_view(), name="v1-appointments"),
    path("appointments/<uuid:pk>", AppointmentV1.as_view(), name="v1-appointment"),
    # Before the patient routes: "imports" is not a patient's hash.
    path("patients/imports", imports.PatientImportListCreateV1.as_view(), name="v1-patient-imports"),
    path("patients/imports/<uuid:pk>", imports.PatientImportDetailV1.as_view(), name="v1-patient-import"),
    path("", include("scheduling.api.patient_urls_v1")),
]
