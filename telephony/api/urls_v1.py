"""Routes of the telephony app on the v1 surface."""
from django.urls import path

from . import views

urlpatterns = [
    path("calls", views.CallV1List.as_view(), name="v1-calls"),
    path("calls/<uuid:pk>", views.CallV1Detail.as_view(), name="v1-call-detail"),
]
