"""Routes of the campaigns app on the v1 surface."""
from django.urls import path

from . import bulk, views

urlpatterns = [
    path("appointments/<uuid:appointment_id>/triage/send", views.TriageSendV1.as_view(), name="v1-triage-send"),
    path("dashboard/stats", views.DashboardStatsV1.as_view(), name="v1-dashboard-stats"),
    path("campaigns/preview", bulk.CampaignPreviewV1.as_view(), name="v1-campaigns-preview"),
    path("campaigns", bulk.CampaignListCreateV1.as_view(), name="v1-campaigns"),
    path("campaigns/<uuid:pk>", bulk.CampaignDetailV1.as_view(), name="v1-campaign"),
    path("campaigns/<uuid:pk>/cancel", bulk.CampaignCancelV1.as_view(), name="v1-campaign-cancel"),
]
