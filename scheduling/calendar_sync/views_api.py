"""GET auth-url, POST callback, DELETE disconnect on the dashboard surface: clinic admins signed in as people."""
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.api.permissions import IsClinicAdmin
from config.surfaces import DASHBOARD

from . import serializers, services

ERRORS = {400: OpenApiResponse(description="Invalid body, or a forged, expired or reused state"),
          403: OpenApiResponse(description="Not a clinic admin"),
          502: OpenApiResponse(description="Google could not be reached")}


class GoogleIntegrationView(DASHBOARD.view, APIView):
    # The state binds to a member, and API keys never carry `admin`: only an admin person connects a calendar.
    permission_classes = [IsClinicAdmin]


class GoogleAuthUrlView(GoogleIntegrationView):
    """GET /api/integrations/google/auth-url"""

    @extend_schema(responses={200: serializers.GoogleAuthUrlSerializer, 403: ERRORS[403]})
    def get(self, request):
        authorization = services.start_authorization(request.auth.clinic, request.auth.membership)
        return Response({"auth_url": authorization.auth_url, "state": authorization.state})


class GoogleCallbackView(GoogleIntegrationView):
    """POST /api/integrations/google/callback {code, state}"""

    @extend_schema(request=serializers.GoogleCallbackSerializer,
                   responses={200: serializers.CalendarConnectionSerializer, **ERRORS})
    def post(self, request):
        data = serializers.GoogleCallbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        connection = services.complete_authorization(request.auth.clinic, request.auth.membership,
                                                     code=data.validated_data["code"],
                                                     state=data.validated_data["state"], actor=request)
        return Response(serializers.CalendarConnectionSerializer(connection).data)


class GoogleDisconnectView(GoogleIntegrationView):
    """DELETE /api/integrations/google/disconnect"""

    @extend_schema(request=None, responses={200: serializers.CalendarDisconnectedSerializer, 403: ERRORS[403],
                                            404: OpenApiResponse(description="Not connected")})
    def delete(self, request):
        services.disconnect(request.auth.clinic, actor=request)
        return Response({"message": _("Calendar disconnected successfully")})
