"""Routes of the scheduling app on the voice surface (docs/api/voice.md): `{"success", "message", "data"}`."""
from django.urls import path

from config.surfaces import VOICE

from . import views


class AppointmentsVoice(VOICE.view, views.AppointmentListView):
    pass


class SchedulesVoice(VOICE.view, views.ScheduleListView):
    pass


urlpatterns = [
    path("appointments", AppointmentsVoice.as_view(), name="voice-appointments"),
    path("schedules", SchedulesVoice.as_view(), name="voice-schedules"),
]
