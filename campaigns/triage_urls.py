"""The console's triage page (namespace "triage"); config/urls.py mounts it under /console/triage/."""
from django.urls import path

from . import triage_views

app_name = "triage"
urlpatterns = [
    path("", triage_views.triage_list, name="list"),
    path("<uuid:appointment_id>/send/", triage_views.triage_send, name="send"),
]
