"""Routes of the campaigns app on the voice surface."""
from django.urls import include, path

from . import views

urlpatterns = [
    path("tasks", views.TaskVoiceListCreate.as_view(), name="voice-tasks"),
    # Contacts live in scheduling; mounted here until scheduling/api/urls_voice.py includes them itself.
    path("", include("scheduling.api.patient_urls_voice")),
]
