"""Connecting Google Calendar on the dashboard API (docs/api/dashboard.md): auth-url, callback and disconnect,
with Google's token and revoke endpoints faked at the HTTP boundary."""
import base64
import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.db import connection as db_connection
from django.utils import timezone
from werkzeug import Response

from clinics.models import Membership
from scheduling.calendar_sync import services
from scheduling.calendar_sync.models import CalendarConnection, CalendarOAuthState
from scheduling.tests.calendar_support import (CLIENT_ID, CLIENT_SECRET, admin_api, calendar_settings,  # noqa: F401
                                               connect, fake_google, form_of, id_token)

pytestmark = pytest.mark.django_db

AUTH_URL = "/api/integrations/google/auth-url"
CALLBACK_URL = "/api/integrations/google/callback"
DISCONNECT_URL = "/api/integrations/google/disconnect"
REDIRECT_URI = "https://frontdesk.test/integrations/google/callback"


def _start(client) -> tuple[str, dict]:
    body = client.get(AUTH_URL).json()
    query = {key: values[0] for key, values in parse_qs(urlsplit(body["auth_url"]).query).items()}
    return body["state"], query


def _token_answer(**extra):
    return {"access_token": "ya29.a0-access", "expires_in": 3599, "refresh_token": "1//0g-refresh",
            "scope": "https://www.googleapis.com/auth/calendar.events", "token_type": "Bearer", **extra}


def test_auth_url_is_googles_consent_url_with_offline_access_and_pkce(admin_api):
    response = admin_api.get(AUTH_URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"auth_url", "state"}
    parts = urlsplit(body["auth_url"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://accounts.google.com/o/oauth2/v2/auth"
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["response_type"] == "code"
    assert query["scope"] == "https://www.googleapis.com/auth/calendar.events"
    assert (query["access_type"], query["prompt"]) == ("offline", "consent")
    assert query["state"] == body["state"]
    assert query["code_challenge_method"] == "S256"
    # The challenge is S256 of a verifier the server keeps: it never appears in the answer.
    verifier = CalendarOAuthState.objects.get().code_verifier
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert query["code_challenge"] == expected
    assert 43 <= len(verifier) <= 128 and verifier not in response.content.decode()


def test_state_is_signed_and_names_the_clinic_and_member(admin_api, clinic):
    state, _query = _start(admin_api)

    claims = signing.loads(state, salt=services.STATE_SALT)

    assert claims["c"] == str(clinic.pk) and claims["m"] == str(admin_api.membership.pk)


def test_callback_exchanges_the_code_with_the_exact_form_and_stores_the_connection(admin_api, clinic, fake_google):
    state, query = _start(admin_api)
    verifier = CalendarOAuthState.objects.get().code_verifier
    fake_google.expect_oneshot_request("/token", method="POST").respond_with_json(
        _token_answer(id_token=id_token({"email": "agenda@clinica.pt", "email_verified": True})))

    response = admin_api.post(CALLBACK_URL, {"code": "4/0AfJohXn-code", "state": state}, format="json")

    assert response.status_code == 200, response.content
    (request, _answer), = fake_google.log
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form_of(request) == {"code": "4/0AfJohXn-code", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                "redirect_uri": REDIRECT_URI, "grant_type": "authorization_code",
                                "code_verifier": verifier}
    body = response.json()
    assert body["connected"] is True and body["status"] == "active" and body["provider"] == "google"
    assert body["google_email"] == "agenda@clinica.pt" and body["calendar_id"] == "primary"
    assert body["connected_by"] == admin_api.membership.user.email and body["connected_at"]
    assert "ya29" not in response.content.decode() and "refresh" not in response.content.decode()
    connection = CalendarConnection.objects.get(clinic=clinic)
    assert (connection.access_token, connection.refresh_token) == ("ya29.a0-access", "1//0g-refresh")
    assert connection.connected_by == admin_api.membership.user
    assert connection.access_token_expires_at > timezone.now() + timedelta(minutes=55)
    from clinics.models import AuditEvent
    assert AuditEvent.objects.filter(clinic=clinic, action="calendar.connect", object_id=str(connection.pk)).exists()


def test_tokens_are_encrypted_at_rest(admin_api, clinic, fake_google):
    state, _query = _start(admin_api)
    fake_google.expect_oneshot_request("/token", method="POST").respond_with_json(_token_answer())
    admin_api.post(CALLBACK_URL, {"code": "4/code", "state": state}, format="json")

    with db_connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM scheduling_calendarconnection")
        access, refresh = cursor.fetchone()
        cursor.execute("SELECT code_verifier FROM scheduling_calendaroauthstate")
        (stored_verifier,) = cursor.fetchone()

    assert access.startswith("v1:") and refresh.startswith("v1:")
    assert "ya29" not in access and "refresh" not in refresh
    assert stored_verifier.startswith("v1:")
    assert CalendarConnection.objects.get().refresh_token == "1//0g-refresh"


def test_a_reused_state_is_refused(admin_api, fake_google):
    state, _query = _start(admin_api)
    fake_google.expect_request("/token", method="POST").respond_with_json(_token_answer())
    assert admin_api.post(CALLBACK_URL, {"code": "4/one", "state": state}, format="json").status_code == 200

    response = admin_api.post(CALLBACK_URL, {"code": "4/two", "state": state}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "Invalid, expired or already used authorization state."
    assert len(fake_google.log) == 1  # the second code never reached Google


def test_a_forged_state_is_refused(admin_api, fake_google):
    state, _query = _start(admin_api)
    forged = signing.dumps({"n": "guessed", "c": "x", "m": "y"}, key="not-our-secret", salt=services.STATE_SALT)

    for candidate in (forged, state[:-2] + ("AA" if not state.endswith("AA") else "BB"), "plain-text"):
        response = admin_api.post(CALLBACK_URL, {"code": "4/code", "state": candidate}, format="json")
        assert response.status_code == 400 and "detail" in response.json()
    assert fake_google.log == []
    assert not CalendarConnection.objects.exists()


def test_an_expired_state_is_refused(admin_api, fake_google):
    state, _query = _start(admin_api)
    CalendarOAuthState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = admin_api.post(CALLBACK_URL, {"code": "4/code", "state": state}, format="json")

    assert response.status_code == 400 and response.json()["code"] == "INVALID_STATE"
    assert fake_google.log == []


def test_a_state_older_than_its_signature_allows_is_refused(admin_api, fake_google, monkeypatch):
    state, _query = _start(admin_api)
    later = timezone.now() + services.STATE_MAX_AGE + timedelta(seconds=5)
    monkeypatch.setattr("django.core.signing.time.time", lambda: later.timestamp())

    response = admin_api.post(CALLBACK_URL, {"code": "4/code", "state": state}, format="json")

    assert response.status_code == 400


def test_another_members_state_is_refused(admin_api, jwt_client_for, clinic, fake_google):
    state, _query = _start(admin_api)
    other_admin = jwt_client_for(clinic)

    response = other_admin.post(CALLBACK_URL, {"code": "4/code", "state": state}, format="json")

    assert response.status_code == 400
    assert fake_google.log == []


def test_another_clinics_state_is_refused(admin_api, jwt_client_for, other_clinic, fake_google):
    state, _query = _start(admin_api)

    response = jwt_client_for(other_clinic).post(CALLBACK_URL, {"code": "4/code", "state": state}, format="json")

    assert response.status_code == 400
    assert not CalendarConnection.objects.exists()


def test_a_code_google_refuses_is_a_400(admin_api, fake_google):
    state, _query = _start(admin_api)
    fake_google.expect_oneshot_request("/token", method="POST").respond_with_json(
        {"error": "invalid_grant", "error_description": "Bad Request"}, status=400)

    response = admin_api.post(CALLBACK_URL, {"code": "4/stale", "state": state}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "Google refused the authorization code."
    assert not CalendarConnection.objects.exists()


def test_google_down_during_the_exchange_is_a_502(admin_api, fake_google):
    state, _query = _start(admin_api)
    fake_google.expect_oneshot_request("/token", method="POST").respond_with_response(Response("oops", status=503))

    response = admin_api.post(CALLBACK_URL, {"code": "4/code", "state": state}, format="json")

    assert response.status_code == 502 and "detail" in response.json()


@pytest.mark.parametrize("body, field", [({"state": "s"}, "code"), ({"code": "c"}, "state"),
                                         ({"code": "", "state": "s"}, "code"), ({"code": ["c"], "state": "s"}, "code")])
def test_callback_bad_bodies_get_the_dashboard_error_format(admin_api, body, field):
    response = admin_api.post(CALLBACK_URL, body, format="json")

    assert response.status_code == 400
    payload = response.json()
    assert isinstance(payload["detail"], str) and field in payload["errors"]


def test_callback_body_that_is_not_json_is_a_400(admin_api):
    response = admin_api.generic("POST", CALLBACK_URL, "{not json", content_type="application/json")

    assert response.status_code == 400 and isinstance(response.json()["detail"], str)


def test_disconnect_revokes_at_google_and_deletes_the_tokens(admin_api, clinic, fake_google):
    connect(clinic, refresh_token="1//to-revoke")
    fake_google.expect_oneshot_request("/revoke", method="POST").respond_with_data("", status=200)

    response = admin_api.delete(DISCONNECT_URL)

    assert response.status_code == 200
    assert response.json() == {"message": "Calendar disconnected successfully"}
    (request, _answer), = fake_google.log
    assert form_of(request) == {"token": "1//to-revoke"}
    assert not CalendarConnection.objects.filter(clinic=clinic).exists()


def test_disconnect_still_forgets_the_tokens_when_google_fails_to_revoke(admin_api, clinic, fake_google, caplog):
    connect(clinic)
    fake_google.expect_oneshot_request("/revoke", method="POST").respond_with_json(
        {"error": "invalid_token"}, status=400)

    response = admin_api.delete(DISCONNECT_URL)

    assert response.status_code == 200
    assert not CalendarConnection.objects.exists()
    assert "Revoking the Google token" in caplog.text


def test_disconnect_when_not_connected_is_404(admin_api):
    response = admin_api.delete(DISCONNECT_URL)

    assert response.status_code == 404
    assert response.json()["detail"] == "Google Calendar is not connected."


def test_another_clinic_cannot_disconnect_or_see_this_clinics_connection(admin_api, jwt_client_for, clinic,
                                                                         other_clinic, fake_google):
    connect(clinic)
    foreign = jwt_client_for(other_clinic)

    assert foreign.delete(DISCONNECT_URL).status_code == 404
    assert CalendarConnection.objects.filter(clinic=clinic).exists()
    assert fake_google.log == []


@pytest.mark.parametrize("role", [Membership.Role.EDITOR, Membership.Role.VIEWER])
def test_members_who_are_not_admins_get_403(jwt_client_for, clinic, role):
    client = jwt_client_for(clinic, role)

    assert client.get(AUTH_URL).status_code == 403
    assert client.post(CALLBACK_URL, {"code": "c", "state": "s"}, format="json").status_code == 403
    response = client.delete(DISCONNECT_URL)
    assert response.status_code == 403 and "detail" in response.json()


def test_api_keys_cannot_connect_a_calendar(make_client, clinic):
    client = make_client(clinic, permissions=("read", "write"))

    assert client.get(AUTH_URL).status_code == 403
    assert client.delete(DISCONNECT_URL).status_code == 403


def test_google_backend_without_an_oauth_client_answers_503(admin_api, settings, fake_google):
    settings.GOOGLE_CLIENT_ID = ""

    response = admin_api.get(AUTH_URL)

    assert response.status_code == 503 and response.json()["code"] == "CALENDAR_NOT_CONFIGURED"


def test_anonymous_callers_get_401(api_client):
    assert api_client.get(AUTH_URL).status_code == 401


def test_connecting_puts_the_upcoming_appointments_in_the_calendar(admin_api, clinic, professional, service,
                                                                  patient, django_capture_on_commit_callbacks):
    from scheduling import services as scheduling_services
    from scheduling.calendar_sync.models import LocalCalendarEvent
    from scheduling.tests.conftest import upcoming

    booked = [scheduling_services.appointment_book(clinic=clinic, patient=patient, professional=professional,
                                                service=service,
                                       starts_at=upcoming(days=days, clinic=clinic)) for days in (1, 2)]
    scheduling_services.appointment_cancel(appointment=booked[1])
    state, _query = _start(admin_api)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(CALLBACK_URL, {"code": "local-code", "state": state}, format="json")

    assert response.status_code == 200  # the offline backend accepts any code
    assert list(LocalCalendarEvent.objects.values_list("event_id", flat=True)) == [
        services.event_id_for(booked[0])]


def test_connecting_again_rewrites_the_events_without_duplicating_them(admin_api, clinic, professional, service,
                                                                       patient, django_capture_on_commit_callbacks):
    from scheduling import services as scheduling_services
    from scheduling.calendar_sync.models import CalendarEventLink, LocalCalendarEvent
    from scheduling.tests.conftest import upcoming

    appointment = scheduling_services.appointment_book(clinic=clinic, patient=patient, professional=professional,
                                           service=service, starts_at=upcoming(clinic=clinic))
    for code in ("first-code", "second-code"):
        state, _query = _start(admin_api)
        with django_capture_on_commit_callbacks(execute=True):
            assert admin_api.post(CALLBACK_URL, {"code": code, "state": state}, format="json").status_code == 200

    assert CalendarConnection.objects.count() == 1
    assert LocalCalendarEvent.objects.count() == 1
    assert CalendarEventLink.objects.get(appointment=appointment).event_id == services.event_id_for(appointment)
