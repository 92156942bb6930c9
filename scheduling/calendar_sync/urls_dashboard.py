"""Google Calendar routes on the dashboard surface (`/api/`), included by scheduling/api/urls_dashboard.py."""
from django.urls import path

from . import views_api

urlpatterns = [
    path("integrations/google/auth-url", views_api.GoogleAuthUrlView.as_view(), name="dashboard-google-auth-url"),
    path("integrations/google/callback", views_api.GoogleCallbackView.as_view(), name="dashboard-google-callback"),
    path("integrations/google/disconnect", views_api.GoogleDisconnectView.as_view(),
         name="dashboard-google-disconnect"),
]
