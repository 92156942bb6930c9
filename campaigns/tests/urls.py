"""The project's URLs plus the public engagement pages and console, until config/urls.py mounts them."""
from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("", include("campaigns.public_urls")),
    path("console/", include("campaigns.urls")),
] + project_urlpatterns
