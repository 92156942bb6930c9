"""Public, unauthenticated booking routes (`/booking/<slug>`)."""
from django.urls import path  # noqa: F401

urlpatterns = []
