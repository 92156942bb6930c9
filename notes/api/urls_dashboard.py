"""Routes of the notes app on the dashboard surface."""
from django.urls import path  # noqa: F401

urlpatterns = []
