"""Routes of the telephony app on the dashboard surface, and Twilio's webhooks (signature-verified)."""
from django.urls import path

from telephony import webhooks

from . import views

urlpatterns = [
    path("calls", views.CallDashboardListCreate.as_view(), name="dashboard-calls"),
    path("analytics/stats", views.CallStats.as_view(), name="dashboard-analytics-stats"),
    path("analytics/conversations", views.ConversationList.as_view(), name="dashboard-conversations"),
    path("analytics/conversation/<str:conversation_id>", views.ConversationDetail.as_view(),
         name="dashboard-conversation-detail"),
    path("webhooks/twilio/sms", webhooks.twilio_inbound, name="telephony_twilio_inbound"),
    path("webhooks/twilio/status", webhooks.twilio_status, name="telephony_twilio_status"),
]
