"""The project's URLs plus the knowledge console, as config/urls.py will mount it."""
from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("knowledge/", include("knowledge.urls")), *project_urlpatterns]
