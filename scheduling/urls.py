"""Console pages of scheduling (namespace "scheduling"), mounted by config/urls.py under `console/agenda/`."""
from django.urls import path

from . import hours_views, import_views, record, views

app_name = "scheduling"
urlpatterns = [
    path("", views.agenda, name="agenda"),
    path("appointments/new/", views.appointment_new, name="appointment_new"),
    path("appointments/new/patients/", views.patient_matches, name="patient_matches"),
    path("appointments/<uuid:appointment_id>/", views.appointment_edit, name="appointment_edit"),
    path("appointments/<uuid:appointment_id>/move/", views.appointment_move, name="appointment_move"),
    path("appointments/<uuid:appointment_id>/resize/", views.appointment_resize, name="appointment_resize"),
    path("appointments/<uuid:appointment_id>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("appointments/<uuid:appointment_id>/attendance/", views.appointment_attendance,
         name="appointment_attendance"),
    path("patients/", record.patient_index, name="patient_index"),
    path("patients/search/", record.patient_search, name="patient_search"),
    path("patients/<uuid:patient_id>/", record.patient_record, name="patient_record"),
    path("patients/<uuid:patient_id>/consent/", record.patient_consent, name="patient_consent"),
    path("professionals/", views.professional_list, name="professionals"),
    path("professionals/new/", views.professional_form, name="professional_new"),
    path("professionals/<uuid:professional_id>/", views.professional_form, name="professional_edit"),
    path("professionals/<uuid:professional_id>/remove/", views.professional_remove, name="professional_remove"),
    path("opening-hours/", hours_views.opening_hours, name="opening_hours"),
    path("time-off/", views.exception_list, name="exceptions"),
    path("time-off/<uuid:exception_id>/remove/", views.exception_remove, name="exception_remove"),
    path("services/", views.service_list, name="services"),
    path("services/new/", views.service_form, name="service_new"),
    path("services/<uuid:service_id>/", views.service_form, name="service_edit"),
    path("services/<uuid:service_id>/remove/", views.service_remove, name="service_remove"),
    path("patients/import/", import_views.import_list, name="imports"),
    path("patients/import/upload/", import_views.import_upload, name="import_upload"),
    path("patients/import/<uuid:import_id>/", import_views.import_detail, name="import_detail"),
    path("patients/import/<uuid:import_id>/progress/", import_views.import_progress, name="import_progress"),
    path("patients/import/<uuid:import_id>/errors.csv", import_views.import_errors, name="import_errors"),
]
