"""The project's URLs plus the notes console, as config/urls.py will mount it."""
from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("console/notes/", include("notes.urls")), *project_urlpatterns]
