"""Routes of the clinics app on the voice surface."""
from django.urls import path  # noqa: F401

urlpatterns = []
