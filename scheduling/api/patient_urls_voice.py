"""Contact routes on the voice surface (docs/api/voice.md): the clinic's patients and leads."""
from django.urls import path

from . import patients

urlpatterns = [
    path("contacts", patients.ContactVoiceListCreate.as_view(), name="voice-contacts"),
]
