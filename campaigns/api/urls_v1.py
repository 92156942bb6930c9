"""Routes of the campaigns app on the v1 surface."""
from django.urls import include, path

from . import views

urlpatterns = [
    path("appointments/<uuid:appointment_id>/triage/send", views.TriageSendV1.as_view(), name="v1-triage-send"),
    path("dashboard/stats", views.DashboardStatsV1.as_view(), name="v1-dashboard-stats"),
    # Patients live in scheduling; mounted here until scheduling/api/urls_v1.py includes them itself.
    path("", include("scheduling.api.patient_urls_v1")),
]
