"""Google Calendar on the dashboard surface (docs/api/dashboard.md, Integrations): GET auth-url, POST callback,
DELETE disconnect, for clinic admins signed in as people. Shapes are snake_case; the writes are
`scheduling.calendar_sync.services`."""
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.api.permissions import IsClinicAdmin
from config.surfaces import DASHBOARD
from scheduling.calendar_sync import services
from scheduling.calendar_sync.models import CalendarConnection


class GoogleAuthUrlSerializer(serializers.Serializer):
    auth_url = serializers.URLField()
    state = serializers.CharField()


class GoogleCallbackSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=2048)
    state = serializers.CharField(max_length=2048)


class CalendarConnectionSerializer(serializers.ModelSerializer):
    """What the dashboard may know of a connection: never a token."""

    connected = serializers.SerializerMethodField()
    connected_by = serializers.SerializerMethodField()

    class Meta:
        model = CalendarConnection
        fields = ["id", "provider", "connected", "status", "google_email", "calendar_id", "connected_by",
                  "connected_at"]

    def get_connected(self, connection) -> bool:
        return connection.is_active

    def get_connected_by(self, connection) -> str | None:
        return connection.connected_by.email if connection.connected_by else None


class CalendarDisconnectedSerializer(serializers.Serializer):
    message = serializers.CharField()


ERRORS = {400: OpenApiResponse(description="Invalid body, or a forged, expired or reused state"),
          403: OpenApiResponse(description="Not a clinic admin"),
          502: OpenApiResponse(description="Google could not be reached")}


class GoogleIntegrationView(DASHBOARD.view, APIView):
    # The state binds to a member, and API keys never carry `admin`: only an admin person connects a calendar.
    permission_classes = [IsClinicAdmin]


class GoogleAuthUrlView(GoogleIntegrationView):
    """GET /api/integrations/google/auth-url"""

    @extend_schema(responses={200: GoogleAuthUrlSerializer, 403: ERRORS[403]})
    def get(self, request):
        authorization = services.start_authorization(request.auth.clinic, request.auth.membership)
        return Response({"auth_url": authorization.auth_url, "state": authorization.state})


class GoogleCallbackView(GoogleIntegrationView):
    """POST /api/integrations/google/callback {code, state}"""

    @extend_schema(request=GoogleCallbackSerializer, responses={200: CalendarConnectionSerializer, **ERRORS})
    def post(self, request):
        data = GoogleCallbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        connection = services.complete_authorization(request.auth.clinic, request.auth.membership,
                                                     code=data.validated_data["code"],
                                                     state=data.validated_data["state"], actor=request)
        return Response(CalendarConnectionSerializer(connection).data)


class GoogleDisconnectView(GoogleIntegrationView):
    """DELETE /api/integrations/google/disconnect"""

    @extend_schema(request=None, responses={200: CalendarDisconnectedSerializer, 403: ERRORS[403],
                                            404: OpenApiResponse(description="Not connected")})
    def delete(self, request):
        services.disconnect(request.auth.clinic, actor=request)
        return Response({"message": _("Calendar disconnected successfully")})
