"""Console pages of engagement (namespace "campaigns"); config/urls.py mounts them under /console/."""
from django.urls import path

from . import bulk_console, views

app_name = "campaigns"
urlpatterns = [
    path("engagement/", views.index, name="index"),
    path("patients/", views.patient_list, name="patients"),
    path("patients/<str:patient_hash>/", views.patient_detail, name="patient"),
    path("patients/<str:patient_hash>/export/", views.patient_export, name="patient_export"),
    path("patients/<str:patient_hash>/erase/", views.patient_erase, name="patient_erase"),
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/<uuid:task_id>/status/", views.task_status, name="task_status"),
    path("triage/questions/", views.triage_questions, name="triage_questions"),
    path("campaigns/", bulk_console.campaign_list, name="bulk_list"),
    path("campaigns/audience/", bulk_console.campaign_audience, name="bulk_audience"),
    path("campaigns/<uuid:campaign_id>/", bulk_console.campaign_detail, name="bulk_detail"),
    path("campaigns/<uuid:campaign_id>/cancel/", bulk_console.campaign_cancel, name="bulk_cancel"),
]
