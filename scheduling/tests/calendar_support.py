"""Fixtures of the Google Calendar tests: admins signed in to the dashboard, and Google faked at the HTTP boundary
(pytest-httpserver) so the real httpx code runs. Imported by the test_calendar*.py modules."""
import base64
import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from scheduling.calendar_sync.backends import CALENDAR
from scheduling.calendar_sync.models import CalendarConnection

CLIENT_ID = "1234-frontdesk.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-test-secret"


@pytest.fixture(autouse=True)
def calendar_settings(settings):
    """A known OAuth client, the offline backend unless a test picks Google."""
    settings.SITE_URL = "https://frontdesk.test"
    settings.GOOGLE_CLIENT_ID = CLIENT_ID
    settings.GOOGLE_CLIENT_SECRET = CLIENT_SECRET
    settings.PROVIDERS = {**settings.PROVIDERS, "calendar": "local"}
    CALENDAR.reset()
    yield settings
    CALENDAR.reset()


@pytest.fixture
def fake_google(settings, httpserver):
    """The `google` backend with every Google URL pointed at one local fake server."""
    settings.PROVIDERS = {**settings.PROVIDERS, "calendar": "google"}
    settings.GOOGLE_TOKEN_URL = httpserver.url_for("/token")
    settings.GOOGLE_REVOKE_URL = httpserver.url_for("/revoke")
    settings.GOOGLE_CALENDAR_API_BASE = httpserver.url_for("/calendar/v3")
    CALENDAR.reset()
    return httpserver


@pytest.fixture
def admin_api(jwt_client_for, clinic):
    return jwt_client_for(clinic)


def form_of(request) -> dict:
    """The form fields of a request the fake received, one value each."""
    return {key: values[0] for key, values in parse_qs(request.get_data(as_text=True)).items()}


def json_of(request) -> dict:
    return json.loads(request.get_data(as_text=True) or "{}")


def id_token(claims: dict) -> str:
    """An unsigned-looking JWT as Google's token endpoint returns it (the signature is not checked)."""
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def connect(clinic, *, access_token="ya29.current", refresh_token="1//refresh-token", expires_in=3600,
            calendar_id="primary", email="agenda@clinic.example") -> CalendarConnection:
    """A clinic already connected, as after a successful callback."""
    return CalendarConnection.objects.create(
        clinic=clinic, access_token=access_token, refresh_token=refresh_token, calendar_id=calendar_id,
        access_token_expires_at=timezone.now() + timedelta(seconds=expires_in), google_email=email)
