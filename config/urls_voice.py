"""Every app's routes on one surface; each app owns its own module."""
from django.urls import include, path

urlpatterns = [
    path("", include("clinics.api.urls_voice")),
    path("", include("scheduling.api.urls_voice")),
    path("", include("telephony.api.urls_voice")),
    path("", include("knowledge.api.urls_voice")),
    path("", include("campaigns.api.urls_voice")),
    path("", include("billing.api.urls_voice")),
    path("", include("notes.api.urls_voice")),
]
