"""Routes of the notes API (`/notes/v1/`)."""
from django.urls import path  # noqa: F401

urlpatterns = []
