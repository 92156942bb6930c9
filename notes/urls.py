"""Console pages of notes, mounted by config/urls.py under /console/notes/ (namespace "notes")."""
from django.urls import path

from . import views

app_name = "notes"
urlpatterns = [
    path("", views.index, name="index"),
    path("upload/", views.upload, name="upload"),
    path("<uuid:note_id>/", views.detail, name="detail"),
    path("<uuid:note_id>/status/", views.status, name="status"),
    path("<uuid:note_id>/retry/", views.retry, name="retry"),
    path("<uuid:note_id>/audio/", views.audio, name="audio"),
    path("<uuid:note_id>/export/", views.export_note, name="export"),
    path("<uuid:note_id>/sections/", views.sections_save, name="sections_save"),
    path("<uuid:note_id>/sections/<uuid:section_id>/", views.section_update, name="section_update"),
]
