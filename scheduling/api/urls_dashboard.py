"""Routes of the scheduling app on the dashboard surface (docs/api/dashboard.md): the Google Calendar
integration."""
from django.urls import path

from . import calendar

urlpatterns = [
    path("integrations/google/auth-url", calendar.GoogleAuthUrlView.as_view(), name="dashboard-google-auth-url"),
    path("integrations/google/callback", calendar.GoogleCallbackView.as_view(), name="dashboard-google-callback"),
    path("integrations/google/disconnect", calendar.GoogleDisconnectView.as_view(),
         name="dashboard-google-disconnect"),
]
