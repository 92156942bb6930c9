"""The project's URLs plus two routes the tenancy walk must catch: one unregistered, one leaking."""
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.models import ApiKey
from config.surfaces import V1
from config.urls import urlpatterns as project_urlpatterns

LEAKY_ROUTE = "v1/leaky/<uuid:key_id>"
UNREGISTERED_ROUTE = "v1/unregistered/<uuid:key_id>"


class LeakyKeyView(V1.view, APIView):
    """Forgets the clinic scope: any clinic's key by id."""

    def get(self, request, key_id):
        key = ApiKey.objects.get(pk=key_id)
        return Response({"id": str(key.id), "clinicId": str(key.clinic_id)})


urlpatterns = [
    path(LEAKY_ROUTE, LeakyKeyView.as_view()),
    path(UNREGISTERED_ROUTE, LeakyKeyView.as_view()),
    *project_urlpatterns,
]
