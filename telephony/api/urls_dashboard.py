"""Routes of the telephony app on the dashboard surface, and Twilio's webhooks (signature-verified)."""
from django.urls import path

from . import agents, video, views, voice, webhooks

urlpatterns = [
    path("calls", views.CallDashboardListCreate.as_view(), name="dashboard-calls"),
    path("analytics/stats", views.CallStats.as_view(), name="dashboard-analytics-stats"),
    path("analytics/conversations", views.ConversationList.as_view(), name="dashboard-conversations"),
    path("analytics/conversation/<str:conversation_id>", views.ConversationDetail.as_view(),
         name="dashboard-conversation-detail"),
    path("agents", agents.AgentDetail.as_view(), name="dashboard-agent"),
    path("agents/<str:agent_id>", agents.AgentUpdate.as_view(), name="dashboard-agent-update"),
    path("agents/<str:agent_id>/api-token", agents.AgentToken.as_view(), name="dashboard-agent-token"),
    path("agents/<str:agent_id>/regenerate-token", agents.AgentTokenRegenerate.as_view(),
         name="dashboard-agent-token-regenerate"),
    path("agent-actions/check-availability/<str:agent_id>", agents.CheckAvailability.as_view(),
         name="agent-actions-check-availability"),
    path("agent-actions/book-appointment/<str:agent_id>", agents.BookAppointment.as_view(),
         name="agent-actions-book-appointment"),
    path("agent-actions/appointments/<str:agent_id>/today", agents.TodayAppointments.as_view(),
         name="agent-actions-today"),
    path("referrals", video.ReferralListCreate.as_view(), name="dashboard-referrals"),
    path("referrals/<str:referral_id>", video.ReferralDetail.as_view(), name="dashboard-referral-detail"),
    path("dyte/meeting", video.DyteMeetingCreate.as_view(), name="dashboard-dyte-meeting"),
    path("dyte/participants", video.DyteParticipantCreate.as_view(), name="dashboard-dyte-participants"),
    path("dyte/webhook", video.DyteWebhook.as_view(), name="dashboard-dyte-webhook"),
    path("update-doctor-meet", video.UpdateDoctorMeet.as_view(), name="dashboard-update-doctor-meet"),
    path("webhooks/twilio/sms", webhooks.twilio_inbound, name="telephony_twilio_inbound"),
    path("webhooks/twilio/status", webhooks.twilio_status, name="telephony_twilio_status"),
    path("webhooks/elevenlabs", voice.elevenlabs_webhook, name="telephony_elevenlabs_webhook"),
]
