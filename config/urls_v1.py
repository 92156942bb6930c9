"""Every app's routes on one surface; each app owns its own module."""
from django.urls import include, path

urlpatterns = [
    path("", include("clinics.api.urls_v1")),
    path("", include("scheduling.api.urls_v1")),
    path("", include("telephony.api.urls_v1")),
    path("", include("knowledge.api.urls_v1")),
    path("", include("campaigns.api.urls_v1")),
    path("", include("billing.api.urls_v1")),
    path("", include("notes.api.urls_v1")),
]
