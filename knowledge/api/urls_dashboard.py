"""Routes of the knowledge app on the dashboard surface (docs/api/dashboard.md)."""
from django.urls import path

from config.surfaces import DASHBOARD

from . import views


class UploadDashboard(DASHBOARD.view, views.KnowledgeUploadView):
    pass


class FilesDashboard(DASHBOARD.view, views.KnowledgeFilesView):
    pass


class FileDashboard(DASHBOARD.view, views.KnowledgeFileView):
    pass


class AnswerDashboard(DASHBOARD.view, views.KnowledgeAnswerView):
    pass


urlpatterns = [
    path("agents/knowledge-base/answer", AnswerDashboard.as_view(), name="dashboard-knowledge-answer"),
    path("agents/knowledge-base/upload", UploadDashboard.as_view(), name="dashboard-knowledge-upload"),
    path("agents/knowledge-base/files", FilesDashboard.as_view(), name="dashboard-knowledge-files"),
    path("agents/knowledge-base/<uuid:file_id>", FileDashboard.as_view(), name="dashboard-knowledge-file"),
    path("agents/knowledge-base/download/<str:token>", views.knowledge_file_download,
         name="dashboard-knowledge-file-download"),
]
