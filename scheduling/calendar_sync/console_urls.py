"""Console pages of the Google Calendar integration (namespace "calendar_sync"). config/urls.py mounts them with
`path("", include("scheduling.calendar_sync.console_urls"))`, so Google's redirect lands on
/integrations/google/callback, the redirect URI registered on the OAuth client."""
from django.urls import path

from . import views

app_name = "calendar_sync"
urlpatterns = [
    path("integrations/", views.integrations, name="integrations"),
    path("integrations/google/connect/", views.connect, name="google_connect"),
    path("integrations/google/disconnect/", views.disconnect, name="google_disconnect"),
    path("integrations/google/callback", views.google_callback, name="google_callback"),
]
