"""Console pages of telephony, mounted by config/urls.py under /console/."""
from django.urls import path

from . import views

app_name = "telephony"
urlpatterns = [
    path("outbox/", views.outbox, name="outbox"),
]
