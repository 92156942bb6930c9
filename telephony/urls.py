"""Console pages of telephony, mounted by config/urls.py under /console/."""
from django.urls import path

from . import patient_message, views

app_name = "telephony"
urlpatterns = [
    path("outbox/", views.outbox, name="outbox"),
    path("calls/", views.calls, name="calls"),
    path("calls/<uuid:pk>/", views.call_detail, name="call_detail"),
    path("messaging-numbers/", views.messaging_numbers, name="messaging_numbers"),
    path("messaging-numbers/<uuid:number_id>/verify/", views.messaging_number_verify, name="messaging_number_verify"),
    path("patients/<uuid:patient_id>/message/", patient_message.patient_message, name="patient_message"),
]
