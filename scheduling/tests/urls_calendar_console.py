"""The project's URLs plus the Google Calendar console pages, mounted as config/urls.py is asked to mount them."""
from django.urls import include, path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns

mounted = any(getattr(pattern, "namespace", None) == "calendar_sync" for pattern in project_urlpatterns)
urlpatterns = list(project_urlpatterns) + ([] if mounted else [
    path("", include("scheduling.calendar_sync.console_urls"))])
