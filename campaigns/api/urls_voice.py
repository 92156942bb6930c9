"""Routes of the campaigns app on the voice surface."""
from django.urls import path

from . import bulk, views

urlpatterns = [
    path("tasks", views.TaskVoiceListCreate.as_view(), name="voice-tasks"),
    path("campaigns", bulk.CampaignVoiceList.as_view(), name="voice-campaigns"),
]
