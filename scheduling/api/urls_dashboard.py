"""Routes of the scheduling app on the dashboard surface."""
from django.urls import include, path

urlpatterns = [
    path("", include("scheduling.calendar_sync.urls_dashboard")),
]
