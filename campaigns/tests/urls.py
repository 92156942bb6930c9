"""The project's URLs plus the public engagement pages, until config/urls.py mounts them."""
from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("", include("campaigns.public_urls"))] + project_urlpatterns
