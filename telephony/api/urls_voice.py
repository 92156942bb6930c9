"""Routes of the telephony app on the voice surface."""
from django.urls import path

from . import contacts, voice

urlpatterns = [
    path("contacts", contacts.ContactVoiceListCreate.as_view(), name="voice-contacts"),
    path("call", voice.VoiceCallCreate.as_view(), name="voice-call"),
    path("whatsapp/template", voice.WhatsAppTemplateSend.as_view(), name="voice-whatsapp-template"),
    path("transcriptions", voice.TranscriptionList.as_view(), name="voice-transcriptions"),
    path("webhooks", voice.WebhookEndpointListCreate.as_view(), name="voice-webhooks"),
    path("webhooks/<uuid:pk>", voice.WebhookEndpointDelete.as_view(), name="voice-webhook-detail"),
]
