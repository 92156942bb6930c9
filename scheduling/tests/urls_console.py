"""The project's URLs plus the scheduling console, mounted as config/urls.py is asked to mount it."""
from django.urls import include, path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns

mounted = any(getattr(pattern, "namespace", None) == "scheduling" for pattern in project_urlpatterns)
urlpatterns = ([] if mounted else [path("console/agenda/", include("scheduling.urls"))]) + list(project_urlpatterns)
