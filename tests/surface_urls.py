"""A test URLconf: one small view over a real model, mounted on each surface, to exercise the adapters."""
from django.urls import path
from rest_framework import generics, serializers

from clinics.models import ApiKey
from config.surfaces.tenancy import ClinicScopedMixin
from config.surfaces import DASHBOARD, NOTES, V1, VOICE


class KeySerializer(serializers.ModelSerializer):
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "preview", "expires_at", "created_at"]
        read_only_fields = ["id", "preview", "created_at"]

    def create(self, validated_data):
        key, _raw = ApiKey.issue(validated_data["clinic"], validated_data["name"], ["read"])
        return key


class KeyList(ClinicScopedMixin, generics.ListCreateAPIView):
    queryset = ApiKey.objects.all()
    serializer_class = KeySerializer
    results_key = "keys"


class KeyDetail(ClinicScopedMixin, generics.RetrieveAPIView):
    queryset = ApiKey.objects.all()
    serializer_class = KeySerializer


class Boom(ClinicScopedMixin, generics.GenericAPIView):
    def get(self, request):
        raise RuntimeError("a bug")


urlpatterns = []
for surface, prefix in ((V1, "v1/"), (DASHBOARD, "api/"), (VOICE, "api/v1/"), (NOTES, "notes/v1/")):
    urlpatterns += [
        path(f"{prefix}test-keys", type("List", (surface.view, KeyList), {}).as_view()),
        path(f"{prefix}test-keys/<uuid:pk>", type("Detail", (surface.view, KeyDetail), {}).as_view()),
        path(f"{prefix}test-boom", type("Boom", (surface.view, Boom), {}).as_view()),
    ]
handler404 = "config.urls.handler404"
handler500 = "config.urls.handler500"
