"""The site's URLs plus the telephony console, mounted as config/urls.py is asked to mount it."""
from django.urls import include, path

from config.urls import urlpatterns as site_urlpatterns

urlpatterns = [path("console/", include("telephony.urls")), *site_urlpatterns]
