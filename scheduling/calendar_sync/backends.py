"""The calendar capability: write an appointment's event to the clinic's calendar, and the OAuth token calls.

    CALENDAR.backend().create_event(connection, body) -> event dict with "id"

`google` talks to Google's documented HTTP APIs over httpx (OAuth 2.0 token, revoke, Calendar API v3 events);
`local` works offline, keeping events in `LocalCalendarEvent` and accepting any authorization code.
A body is a Calendar API v3 Event resource (summary, description, start, end, status, extendedProperties).
"""
import dataclasses
import logging
import secrets
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.providers import Capability, register

from .models import CalendarConnection, LocalCalendarEvent

logger = logging.getLogger(__name__)

# Events only: enough to write appointments, no access to the rest of the account.
SCOPE = "https://www.googleapis.com/auth/calendar.events"

CALENDAR = register(Capability("calendar", {
    "local": "scheduling.calendar_sync.backends.LocalCalendarBackend",
    "google": "scheduling.calendar_sync.backends.GoogleCalendarBackend",
}))


class CalendarError(Exception):
    """The calendar provider refused or could not be reached; `transient` errors are worth retrying."""

    def __init__(self, message: str, *, status: int | None = None, transient: bool = False):
        super().__init__(message)
        self.status = status
        self.transient = transient


class EventGone(CalendarError):
    """The event no longer exists at the provider (deleted by someone in Google Calendar)."""


class EventExists(CalendarError):
    """An event with that id already exists (a retry of a create that reached the provider)."""


class AuthorizationLost(CalendarError):
    """Google no longer honours the refresh token: the clinic must connect again."""


@dataclasses.dataclass
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_at: datetime | None
    scopes: str = ""
    email: str = ""


class CalendarBackend:
    """The contract the sync task and the OAuth service rely on."""

    name = ""

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> TokenGrant:
        raise NotImplementedError

    def revoke(self, connection: CalendarConnection) -> None:
        raise NotImplementedError

    def create_event(self, connection: CalendarConnection, body: dict) -> dict:
        raise NotImplementedError

    def update_event(self, connection: CalendarConnection, event_id: str, body: dict) -> dict:
        raise NotImplementedError

    def delete_event(self, connection: CalendarConnection, event_id: str) -> None:
        raise NotImplementedError


def _event_time(value: dict) -> datetime:
    return parse_datetime(value["dateTime"])


class LocalCalendarBackend(CalendarBackend):
    """Offline: any code gives a token pair, and events are rows the console shows as "would be in Google"."""

    name = "local"

    def exchange_code(self, *, code, code_verifier, redirect_uri):
        return TokenGrant(access_token=f"local-access-{secrets.token_hex(8)}",
                          refresh_token=f"local-refresh-{secrets.token_hex(8)}",
                          expires_at=timezone.now() + timedelta(hours=1),
                          scopes=SCOPE)

    def revoke(self, connection):
        logger.info("Local calendar backend: tokens of clinic %s forgotten", connection.clinic_id)

    def _write(self, connection, event_id, body):
        event, _created = LocalCalendarEvent.objects.update_or_create(
            clinic_id=connection.clinic_id, calendar_id=connection.calendar_id, event_id=event_id,
            defaults={"status": body.get("status", "confirmed"), "summary": body.get("summary", "")[:500],
                      "starts_at": _event_time(body["start"]), "ends_at": _event_time(body["end"]), "body": body})
        return {**body, "id": event.event_id}

    def create_event(self, connection, body):
        event_id = body.get("id") or secrets.token_hex(16)
        if LocalCalendarEvent.objects.filter(clinic_id=connection.clinic_id, calendar_id=connection.calendar_id,
                                             event_id=event_id).exists():
            raise EventExists(f"event {event_id} exists", status=409)
        return self._write(connection, event_id, body)

    def update_event(self, connection, event_id, body):
        if not LocalCalendarEvent.objects.filter(clinic_id=connection.clinic_id, calendar_id=connection.calendar_id,
                                                 event_id=event_id).exists():
            raise EventGone(f"event {event_id} not found", status=404)
        return self._write(connection, event_id, {**body, "id": event_id})

    def delete_event(self, connection, event_id):
        updated = LocalCalendarEvent.objects.filter(
            clinic_id=connection.clinic_id, calendar_id=connection.calendar_id, event_id=event_id,
        ).exclude(status=LocalCalendarEvent.Status.CANCELLED).update(status=LocalCalendarEvent.Status.CANCELLED)
        if not updated:
            raise EventGone(f"event {event_id} not found", status=404)


def _email_from_id_token(id_token: str) -> str:
    """The `email` claim of the ID token. It came straight from Google's token endpoint over TLS, which OpenID
    Connect Core 3.1.3.7 accepts in place of checking the signature."""
    import jwt

    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ""
    return claims.get("email", "") if claims.get("email_verified", True) else ""


def _expiry(payload: dict) -> datetime | None:
    seconds = payload.get("expires_in")
    return timezone.now() + timedelta(seconds=int(seconds)) if seconds else None


class GoogleCalendarBackend(CalendarBackend):
    """Google OAuth 2.0 (token, refresh, revoke) and Calendar API v3 events, over httpx."""

    name = "google"
    # Refresh a little before Google's expiry, so a token does not die in flight.
    EXPIRY_MARGIN = timedelta(seconds=60)

    def _client(self):
        return httpx.Client(timeout=settings.GOOGLE_TIMEOUT_SECONDS)

    def _token_call(self, form: dict) -> dict:
        try:
            with self._client() as client:
                response = client.post(settings.GOOGLE_TOKEN_URL, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise CalendarError(f"Google token endpoint unreachable: {exc.__class__.__name__}", transient=True)
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code >= 500:
            raise CalendarError(f"Google token endpoint answered {response.status_code}",
                                status=response.status_code, transient=True)
        if response.status_code >= 400:
            error = payload.get("error", "") if isinstance(payload, dict) else ""
            raise (AuthorizationLost if error == "invalid_grant" else CalendarError)(
                f"Google refused the grant: {error or response.status_code}", status=response.status_code)
        if not isinstance(payload, dict) or not payload.get("access_token"):
            raise CalendarError("Google's token answer has no access_token", status=response.status_code)
        return payload

    def exchange_code(self, *, code, code_verifier, redirect_uri):
        payload = self._token_call({
            "code": code, "client_id": settings.GOOGLE_CLIENT_ID, "client_secret": settings.GOOGLE_CLIENT_SECRET,
            "redirect_uri": redirect_uri, "grant_type": "authorization_code", "code_verifier": code_verifier,
        })
        return TokenGrant(access_token=payload["access_token"], refresh_token=payload.get("refresh_token", ""),
                          expires_at=_expiry(payload), scopes=payload.get("scope", ""),
                          email=_email_from_id_token(payload.get("id_token", "")))

    def refresh(self, connection: CalendarConnection) -> None:
        """Get a new access token with the refresh token and store it; AuthorizationLost when Google refuses."""
        if not connection.refresh_token:
            raise AuthorizationLost("no refresh token stored")
        payload = self._token_call({
            "client_id": settings.GOOGLE_CLIENT_ID, "client_secret": settings.GOOGLE_CLIENT_SECRET,
            "refresh_token": connection.refresh_token, "grant_type": "refresh_token",
        })
        connection.access_token = payload["access_token"]
        connection.access_token_expires_at = _expiry(payload)
        fields = ["access_token", "access_token_expires_at"]
        if payload.get("refresh_token"):  # Google may rotate it
            connection.refresh_token = payload["refresh_token"]
            fields.append("refresh_token")
        connection.save(update_fields=fields)

    def revoke(self, connection):
        token = connection.refresh_token or connection.access_token
        if not token:
            return
        try:
            with self._client() as client:
                response = client.post(settings.GOOGLE_REVOKE_URL, data={"token": token})
        except httpx.HTTPError as exc:
            raise CalendarError(f"Google revoke endpoint unreachable: {exc.__class__.__name__}", transient=True)
        if response.status_code >= 400:
            raise CalendarError(f"Google revoke answered {response.status_code}", status=response.status_code)

    def _events_url(self, connection, event_id: str = "") -> str:
        from urllib.parse import quote

        url = (f"{settings.GOOGLE_CALENDAR_API_BASE.rstrip('/')}/calendars/"
               f"{quote(connection.calendar_id, safe='')}/events")
        return f"{url}/{quote(event_id, safe='')}" if event_id else url

    def _send(self, connection, method: str, url: str, body: dict | None = None) -> httpx.Response:
        expires = connection.access_token_expires_at
        if not connection.access_token or (expires and expires <= timezone.now() + self.EXPIRY_MARGIN):
            self.refresh(connection)
        refreshed = False
        with self._client() as client:
            while True:
                try:
                    response = client.request(method, url, json=body,
                                              headers={"Authorization": f"Bearer {connection.access_token}"})
                except httpx.HTTPError as exc:
                    raise CalendarError(f"Google Calendar unreachable: {exc.__class__.__name__}", transient=True)
                if response.status_code == 401 and not refreshed:
                    # The access token was revoked or expired early: refresh once and try again.
                    self.refresh(connection)
                    refreshed = True
                    continue
                break
        if response.status_code in (404, 410):
            raise EventGone(f"Google Calendar answered {response.status_code}", status=response.status_code)
        if response.status_code == 409:
            raise EventExists("Google Calendar answered 409", status=409)
        if response.status_code == 401:
            raise AuthorizationLost("Google Calendar refused the refreshed access token", status=401)
        if response.status_code >= 400:
            raise CalendarError(f"Google Calendar answered {response.status_code}", status=response.status_code,
                                transient=response.status_code == 429 or response.status_code >= 500)
        return response

    def create_event(self, connection, body):
        return self._send(connection, "POST", self._events_url(connection), body).json()

    def update_event(self, connection, event_id, body):
        return self._send(connection, "PATCH", self._events_url(connection, event_id), body).json()

    def delete_event(self, connection, event_id):
        self._send(connection, "DELETE", self._events_url(connection, event_id))
