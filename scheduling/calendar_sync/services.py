"""Writes of the Google Calendar integration: start and finish the OAuth authorization, disconnect, and mirror
one appointment into the connected calendar. Views, the console and the Celery task all call these."""
import base64
import dataclasses
import hashlib
import json
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.audit import record
from clinics.errors import InvalidInput, NotFound, ProviderUnavailable
from scheduling.errors import SchedulingCode as Code

from .backends import (CALENDAR, SCOPE, AuthorizationLost, CalendarError, EventExists, EventGone)
from .models import CalendarConnection, CalendarEventLink, CalendarOAuthState

logger = logging.getLogger(__name__)

STATE_SALT = "scheduling.calendar_sync.oauth-state"
STATE_MAX_AGE = timedelta(minutes=10)
CALLBACK_PATH = "/integrations/google/callback"


def _audit(actor, action, target, clinic, **changes):
    record(actor, action, type(target).__name__.lower(), str(target.pk), clinic=clinic, **changes)


def redirect_uri() -> str:
    """The console page Google sends the browser back to; must be registered on the OAuth client."""
    try:
        path = reverse("calendar_sync:google_callback")
    except NoReverseMatch:  # console not mounted (API-only deployment): the documented path
        path = CALLBACK_PATH
    return settings.SITE_URL.rstrip("/") + path


def _code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclasses.dataclass
class Authorization:
    auth_url: str
    state: str


def start_authorization(clinic, membership) -> Authorization:
    """Google's consent URL for this clinic's admin: a signed single-use `state` bound to clinic and member, and a
    PKCE S256 challenge whose verifier stays on the server."""
    if CALENDAR.choice == "google" and not (settings.GOOGLE_CLIENT_ID and settings.GOOGLE_CLIENT_SECRET):
        raise ProviderUnavailable(Code.CALENDAR_NOT_CONFIGURED, _("Google Calendar is not configured on this server."))
    now = timezone.now()
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-]: within RFC 7636's 43–128
    CalendarOAuthState.objects.filter(expires_at__lt=now).delete()
    CalendarOAuthState.objects.create(nonce=nonce, clinic=clinic, membership=membership, code_verifier=verifier,
                                      expires_at=now + STATE_MAX_AGE)
    state = signing.dumps({"n": nonce, "c": str(clinic.pk), "m": str(membership.pk)}, salt=STATE_SALT)
    query = urlencode({
        "client_id": settings.GOOGLE_CLIENT_ID, "redirect_uri": redirect_uri(), "response_type": "code",
        "scope": SCOPE, "access_type": "offline", "prompt": "consent", "include_granted_scopes": "true",
        "state": state, "code_challenge": _code_challenge(verifier), "code_challenge_method": "S256",
    })
    return Authorization(auth_url=f"{settings.GOOGLE_AUTH_URL}?{query}", state=state)


def _bad_state():
    return InvalidInput(Code.INVALID_STATE, _("Invalid, expired or already used authorization state."))


def _consume_state(clinic, membership, state: str) -> CalendarOAuthState:
    try:
        claims = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        raise _bad_state()
    if not isinstance(claims, dict) or claims.get("c") != str(clinic.pk) or claims.get("m") != str(membership.pk):
        raise _bad_state()
    now = timezone.now()
    # One UPDATE decides which of two racing callbacks gets the state; the other sees zero rows. The nonce is unique
    # and came signed with this clinic and member in the claims checked above: the row is the one this clinic's flow
    # stored, so a clinic filter beside it would narrow nothing.
    used = CalendarOAuthState.objects.filter(
        nonce=claims.get("n"), membership=membership, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
    if not used:
        raise _bad_state()
    return CalendarOAuthState.objects.get(nonce=claims["n"])


def complete_authorization(clinic, membership, *, code: str, state: str, actor=None) -> CalendarConnection:
    """Check `state`, exchange `code` (with the PKCE verifier) for tokens and store them encrypted on the clinic's
    connection (replacing an earlier one). 400 for a bad state or a code Google refuses; 502 when unreachable."""
    record = _consume_state(clinic, membership, state)
    backend = CALENDAR.backend()
    try:
        grant = backend.exchange_code(code=code, code_verifier=record.code_verifier, redirect_uri=redirect_uri())
    except CalendarError as exc:
        logger.warning("Google code exchange failed for clinic %s: %s", clinic.pk, exc)
        if exc.transient:
            raise ProviderUnavailable(Code.CALENDAR_PROVIDER_ERROR, _("Google could not be reached; please try again."))
        raise InvalidInput(Code.AUTHORIZATION_REFUSED, _("Google refused the authorization code."))
    if not grant.refresh_token:
        # Without offline access the sync would stop within the hour; prompt=consent should always give one.
        raise InvalidInput(Code.NO_REFRESH_TOKEN, _("Google did not grant offline access; please connect again."))
    with transaction.atomic():
        connection, _created = CalendarConnection.objects.select_for_update().get_or_create(clinic=clinic)
        connection.status = CalendarConnection.Status.ACTIVE
        connection.provider = "google"
        connection.access_token = grant.access_token
        connection.refresh_token = grant.refresh_token
        connection.access_token_expires_at = grant.expires_at
        connection.scopes = grant.scopes[:500]
        connection.google_email = grant.email
        connection.connected_by = membership.user
        connection.connected_at = timezone.now()
        connection.last_error = ""
        connection.save()
        # Possibly another account's calendar now: forget the old links. Event ids are derived from the
        # appointment, so an event that does exist there is found (409) and updated, never duplicated.
        CalendarEventLink.objects.for_clinic(clinic).delete()
        _audit(actor, "calendar.connect", connection, clinic, provider="google", email=connection.google_email)

        def backfill():
            from .tasks import sync_upcoming

            sync_upcoming.delay(str(clinic.pk))

        transaction.on_commit(backfill, robust=True)
    return connection


BACKFILL_LIMIT = 500


def upcoming_appointments(clinic_id):
    """The clinic's active appointments from now on, soonest first, at most BACKFILL_LIMIT."""
    from scheduling.models import ACTIVE_STATUSES, Appointment

    return (Appointment.objects.for_clinic(clinic_id).filter(status__in=ACTIVE_STATUSES, ends_at__gte=timezone.now())
            .select_related("clinic", "patient", "professional", "service").order_by("starts_at", "id")
            [:BACKFILL_LIMIT])


def connection_of(clinic) -> CalendarConnection | None:
    """The clinic's calendar connection, or None."""
    return CalendarConnection.objects.for_clinic(clinic).select_related("connected_by").first()


def disconnect(clinic, *, actor=None) -> None:
    """Revoke the token at Google (best effort: a failure is logged, the local tokens go anyway) and delete the
    connection with its event links. 404 when the clinic is not connected."""
    connection = connection_of(clinic)
    if connection is None:
        raise NotFound(Code.NOT_CONNECTED, _("Google Calendar is not connected."))
    try:
        CALENDAR.backend().revoke(connection)
    except CalendarError as exc:
        logger.warning("Revoking the Google token of clinic %s failed: %s", clinic.pk, exc)
    with transaction.atomic():
        CalendarEventLink.objects.for_clinic(clinic).delete()
        _audit(actor, "calendar.disconnect", connection, clinic, provider=connection.provider)
        connection.delete()


# --- appointment → event ----------------------------------------------------------------------------------------


def event_id_for(appointment) -> str:
    """A stable event id (Google accepts base32hex, 5–1024 chars; a UUID's hex digits qualify): a create retried
    after a lost answer meets 409 instead of making a second event."""
    return f"fd{appointment.pk.hex}"


def event_body(appointment) -> dict:
    """The Calendar API v3 Event resource for an appointment, in the clinic's time zone."""
    zone = appointment.clinic.timezone
    status = appointment.get_status_display()
    lines = [_("Professional: %(name)s") % {"name": appointment.professional.name},
             _("Status: %(status)s") % {"status": status},
             _("Booked through Frontdesk (%(source)s).") % {"source": appointment.get_source_display()}]
    return {
        "id": event_id_for(appointment),
        "summary": f"{appointment.service.name} · {appointment.patient.name}",
        "description": "\n".join(str(line) for line in lines),
        "start": {"dateTime": appointment.starts_at.isoformat(), "timeZone": zone},
        "end": {"dateTime": appointment.ends_at.isoformat(), "timeZone": zone},
        "status": "confirmed",
        "extendedProperties": {"private": {"frontdeskAppointmentId": str(appointment.pk),
                                           "frontdeskStatus": appointment.status}},
    }


def _fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def sync_appointment(appointment) -> str:
    """Make the clinic's calendar agree with the appointment: create the event once, update it when the
    appointment changes, delete it when cancelled. Idempotent (the link row is locked while syncing).
    Returns what happened: created, updated, deleted, unchanged or not_connected."""
    from scheduling.models import Appointment

    connection = CalendarConnection.objects.for_clinic(appointment.clinic_id).first()
    if connection is None or not connection.is_active:
        return "not_connected"
    backend = CALENDAR.backend()
    with transaction.atomic():
        link, _created = CalendarEventLink.objects.select_for_update().get_or_create(
            appointment=appointment, defaults={"clinic_id": appointment.clinic_id,
                                               "calendar_id": connection.calendar_id})
        try:
            outcome = _apply(backend, connection, link, appointment,
                             cancelled=appointment.status == Appointment.Status.CANCELLED)
        except AuthorizationLost as exc:
            CalendarConnection.objects.filter(pk=connection.pk).update(
                status=CalendarConnection.Status.NEEDS_RECONNECT, last_error=str(exc)[:500])
            link.last_error = str(exc)[:500]
            link.save(update_fields=["last_error"])
            return "needs_reconnect"
        except CalendarError as exc:
            # Kept (not rolled back) so the console can say why; the caller decides whether to retry.
            link.last_error = str(exc)[:500]
            link.save(update_fields=["last_error"])
            failure = exc
        else:
            failure = None
            link.synced_at = timezone.now()
            link.last_error = ""
            link.save()
    if failure is not None:
        raise failure
    return outcome


def _apply(backend, connection, link, appointment, *, cancelled: bool) -> str:
    if cancelled:
        if not link.event_id:
            return "unchanged"
        try:
            backend.delete_event(connection, link.event_id)
        except EventGone:
            pass  # already deleted in Google Calendar
        link.event_id, link.fingerprint = "", ""
        return "deleted"
    body = event_body(appointment)
    fingerprint = _fingerprint(body)
    if link.event_id and link.fingerprint == fingerprint:
        return "unchanged"
    if link.event_id:
        try:
            backend.update_event(connection, link.event_id, body)
            link.fingerprint = fingerprint
            return "updated"
        except EventGone:
            pass  # someone deleted it in Google Calendar: write it again below
    try:
        event = backend.create_event(connection, body)
        outcome = "created"
    except EventExists:
        # Created before (a lost answer, or an event cancelled earlier keeps its id): bring it up to date.
        event = backend.update_event(connection, body["id"], body)
        outcome = "created" if not link.event_id else "updated"
    link.event_id = event.get("id") or body["id"]
    link.calendar_id = connection.calendar_id
    link.fingerprint = fingerprint
    return outcome
