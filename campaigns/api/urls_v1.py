"""Routes of the campaigns app on the v1 surface."""
from django.urls import path

from . import views

urlpatterns = [
    path("appointments/<uuid:appointment_id>/triage/send", views.TriageSendV1.as_view(), name="v1-triage-send"),
    path("dashboard/stats", views.DashboardStatsV1.as_view(), name="v1-dashboard-stats"),
]
