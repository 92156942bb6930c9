"""Routes of the billing app on the v1 surface."""
from django.urls import path  # noqa: F401

urlpatterns = []
