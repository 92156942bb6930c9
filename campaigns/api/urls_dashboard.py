"""Routes of the campaigns app on the dashboard surface."""
from django.urls import path  # noqa: F401

urlpatterns = []
