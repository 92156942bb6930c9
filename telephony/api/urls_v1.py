"""Routes of the telephony app on the v1 surface."""
from django.urls import path

from . import views

urlpatterns = [
    path("calls", views.CallV1List.as_view(), name="v1-calls"),
    path("calls/<uuid:pk>", views.CallV1Detail.as_view(), name="v1-call-detail"),
    path("calls/<uuid:pk>/callback", views.CallV1Callback.as_view(), name="v1-call-callback"),
    path("calls/<uuid:pk>/recording", views.CallV1Recording.as_view(), name="v1-call-recording"),
    path("calls/recordings/<str:token>", views.recording_file, name="v1-call-recording-file"),
]
