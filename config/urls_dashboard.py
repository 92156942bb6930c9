"""Every app's routes on one surface; each app owns its own module."""
from django.urls import include, path

urlpatterns = [
    path("", include("clinics.api.urls_dashboard")),
    path("", include("scheduling.api.urls_dashboard")),
    path("", include("telephony.api.urls_dashboard")),
    path("", include("knowledge.api.urls_dashboard")),
    path("", include("campaigns.api.urls_dashboard")),
    path("", include("billing.api.urls_dashboard")),
    path("", include("notes.api.urls_dashboard")),
]
