"""Console pages of the knowledge base (namespace "knowledge"), mounted by config/urls.py under `knowledge/`."""
from django.urls import path

from . import views

app_name = "knowledge"
urlpatterns = [
    path("", views.index, name="index"),
    path("states/", views.states, name="states"),
    path("chunks/new/", views.chunk_new, name="chunk_new"),
    path("chunks/<uuid:chunk_id>/", views.chunk_edit, name="chunk_edit"),
    path("chunks/<uuid:chunk_id>/delete/", views.chunk_delete, name="chunk_delete"),
    path("files/upload/", views.file_upload, name="file_upload"),
    path("files/<uuid:file_id>/delete/", views.file_delete, name="file_delete"),
]
