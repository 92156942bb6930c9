"""The project's URLs plus the billing console, until config/urls.py mounts it."""
from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("billing/", include("billing.urls"))] + project_urlpatterns
