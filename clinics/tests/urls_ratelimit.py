"""The project's URLs plus probe views mounted on surfaces whose own endpoints other apps build."""
from django.urls import path
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.surfaces import DASHBOARD, NOTES
from config.urls import urlpatterns as project_urlpatterns


class WebhookProbe(DASHBOARD.view, APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request):
        return Response({"received": True})


class NotesProbe(NOTES.view, APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"ok": True})


class NotesStatusProbe(NotesProbe):
    rate_limit_exempt = True


urlpatterns = [
    path("api/webhooks/probe", WebhookProbe.as_view()),
    path("notes/v1/probe", NotesProbe.as_view()),
    path("notes/v1/probe/status", NotesStatusProbe.as_view()),
    *project_urlpatterns,
]
