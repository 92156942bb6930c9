"""Shapes of the Google Calendar endpoints on the dashboard surface (seed 001, snake_case)."""
from rest_framework import serializers

from .models import CalendarConnection


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
