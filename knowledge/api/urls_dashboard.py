"""Routes of the knowledge app on the dashboard surface."""
from django.urls import path  # noqa: F401

urlpatterns = []
