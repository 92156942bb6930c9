"""Webhooks out (docs/api/voice.md, Webhooks): the clinic's integration receives the voice events it chose, signed
and retried.

Each event becomes one `WebhookDelivery` per subscribed endpoint, unique by (endpoint, event id), so an event
reported twice (a replayed provider webhook) is sent once. A Celery task posts it; a refusal or a network error is
retried with exponential backoff up to MAX_ATTEMPTS, and the log keeps each outcome.

Events an endpoint may choose: `conversation.update`, `conversation.end_report`, `conversation.status`,
`intent.call`, `evaluation.text`, `evaluation.voice`. Frontdesk emits `conversation.status` when a call is initiated,
fails or completes, and `conversation.end_report`, `intent.call` (when an intent was found) and `evaluation.text`
(when the provider evaluated the conversation) once the post-call report arrives. `conversation.update` and
`evaluation.voice` can be chosen already; no provider report carries them yet, so none is sent.

The request carries `X-Frontdesk-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`; a
receiver recomputes the HMAC over the exact bytes it received and rejects old timestamps (see `verify`).

A webhook must not become a way into our own network (SSRF): the endpoint's host is resolved when it is registered
and again at every delivery, any address that is not public (private, loopback, link-local, shared, reserved,
multicast, or an IPv6 form carrying such an IPv4 address: mapped, compatible, NAT64, 6to4, Teredo) refuses it, and
the delivery connects to the very address that was checked (the name travels in `Host` and TLS SNI), so a DNS answer
that changes between the check and the connection (rebinding) cannot redirect it. `WEBHOOK_ALLOWED_NETWORKS` lists
networks let through all the same; it is empty by default and meant for local test receivers only.
"""
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
from urllib.parse import urlsplit, urlunsplit

import httpx
from celery import shared_task
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.audit import record
from clinics.errors import InvalidInput, NotFound
from scheduling.models import Patient

from .models import WebhookDelivery, WebhookEndpoint
from .recordings import recording_link

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 30
SIGNATURE_HEADER = "X-Frontdesk-Signature"
EVENTS = WebhookEndpoint.Event.values


def webhook_endpoint_create(*, clinic, url: str, events, active: bool = True,
                            actor=None) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint for `events` of the clinic; returns it with its signing secret (shown once). Audited
    (docs/api/voice.md, Webhooks)."""
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise InvalidInput.on("events", _("Choose among: %(events)s.") % {"events": ", ".join(EVENTS)})
    try:
        check_webhook_url(url)
    except UnsafeWebhookURL as exc:
        raise InvalidInput.on("url", str(exc))
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(clinic=clinic, url=url, secret=secret,
                                                  events=sorted(set(events)), active=active)
        record(actor, "webhook_endpoint.create", "webhook_endpoint", str(endpoint.id), clinic=clinic, url=url)
    return endpoint, secret


def create_endpoint(clinic, url: str, events, active: bool = True, actor=None) -> tuple[WebhookEndpoint, str]:
    """The positional form the tenancy walk still calls; see `webhook_endpoint_create`."""
    return webhook_endpoint_create(clinic=clinic, url=url, events=events, active=active, actor=actor)


def webhook_endpoint_delete(*, clinic, endpoint: WebhookEndpoint, actor=None) -> None:
    """Stop sending events to the clinic's endpoint; its delivery log goes with it. Audited. Another clinic's
    endpoint is not found."""
    if not endpoint.belongs_to(clinic):
        raise NotFound(None, _("Webhook not found."))
    with transaction.atomic():
        record(actor, "webhook_endpoint.delete", "webhook_endpoint", str(endpoint.id), clinic=endpoint.clinic,
               url=endpoint.url)
        endpoint.delete()


def webhook_deliveries_retry(*, clinic, delivery_ids, actor=None) -> list[WebhookDelivery]:
    """Send the clinic's abandoned deliveries among `delivery_ids` again, once the receiver is mended: each gets
    MAX_ATTEMPTS new attempts with the same backoff (its first now), keeps its event id (receivers deduplicate on
    it) and one audit row `webhook_delivery.retry`. Pending or delivered ones, another clinic's, and deliveries of a
    disabled endpoint are left as they are. Returns the deliveries sent again."""
    with transaction.atomic():
        retried = list(WebhookDelivery.objects.for_clinic(clinic).select_for_update(of=("self",))
                       .select_related("endpoint")
                       .filter(pk__in=list(delivery_ids), status=WebhookDelivery.Status.FAILED, endpoint__active=True))
        for delivery in retried:
            previous = delivery.attempts
            delivery.status, delivery.attempts = WebhookDelivery.Status.PENDING, 0
            delivery.save(update_fields=["status", "attempts"])
            record(actor, "webhook_delivery.retry", "webhook_delivery", str(delivery.pk), clinic=clinic,
                   event=delivery.event, previous_attempts=previous)
            transaction.on_commit(lambda pk=str(delivery.pk): deliver_webhook.delay(pk))
    return retried


LOCAL_NAMES = ("localhost",)
LOCAL_SUFFIXES = (".localhost", ".local", ".internal")
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class UnsafeWebhookURL(Exception):
    """The endpoint's URL names, or resolves to, an address a webhook may not reach; the message says why."""


class UnresolvableHost(UnsafeWebhookURL):
    """The endpoint's host name has no address (yet)."""


def _allowed_networks():
    return [ipaddress.ip_network(network, strict=False)
            for network in getattr(settings, "WEBHOOK_ALLOWED_NETWORKS", None) or ()]


def _embedded_ipv4(address) -> list:
    """The IPv4 addresses an IPv6 address carries and would reach: mapped, compatible, NAT64, 6to4, Teredo."""
    if address.version != 6:
        return []
    carried = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if address in NAT64_PREFIX or (address in IPV4_COMPATIBLE and int(address) > 1):
        carried.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [ipv4 for ipv4 in carried if ipv4 is not None]


def address_is_public(address) -> bool:
    """True for a globally routable unicast address that carries no local or private IPv4 address."""
    address = ipaddress.ip_address(address)
    if address.is_multicast or not address.is_global:
        return False
    return all(address_is_public(ipv4) for ipv4 in _embedded_ipv4(address))


def resolve_public(host: str, port: int) -> list[str]:
    """The addresses of `host` a webhook may connect to, in the resolver's order; UnsafeWebhookURL when the name
    is local, cannot be resolved, or any of its addresses is not public (one bad answer spoils the name)."""
    host = (host or "").lower().rstrip(".")
    if not host:
        raise UnsafeWebhookURL(_("The URL has no host."))
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError):
            raise UnresolvableHost(_("The host %(host)s could not be resolved.") % {"host": host})
        addresses = list(dict.fromkeys(ipaddress.ip_address(answer[4][0].split("%", 1)[0]) for answer in answers))
    allowed = _allowed_networks()
    if addresses and all(any(address in network for network in allowed) for address in addresses):
        return [str(address) for address in addresses]
    if host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES):
        raise UnsafeWebhookURL(_("Use a public address, not a local or private one."))
    if not addresses or not all(address_is_public(address) for address in addresses):
        raise UnsafeWebhookURL(_("Use a public address, not a local or private one."))
    return [str(address) for address in addresses]


def _port_of(parts) -> int:
    try:
        return parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeWebhookURL(_("The URL's port is not valid."))


def check_webhook_url(url: str) -> None:
    """Raise UnsafeWebhookURL unless `url` is http(s) without credentials and every address it names is public.

    A name that does not resolve yet is accepted here (it may be registered later): each delivery resolves again
    and refuses then."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https"):
        raise UnsafeWebhookURL(_("Use an http(s) URL."))
    if parts.username or parts.password:
        raise UnsafeWebhookURL(_("Leave credentials out of the URL."))
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        resolve_public(host, _port_of(parts))
    except UnresolvableHost:
        if host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES):
            raise UnsafeWebhookURL(_("Use a public address, not a local or private one."))


def is_public_url(url: str) -> bool:
    """False for a URL naming or resolving to this machine or a private network (see `check_webhook_url`)."""
    try:
        check_webhook_url(url)
    except UnsafeWebhookURL:
        return False
    return True


def _pinned_post(url: str, *, content: bytes, headers: dict, timeout: float) -> httpx.Response:
    """POST to `url` at an address `resolve_public` just checked, never at one the name resolves to later."""
    parts = urlsplit(url)
    port = _port_of(parts)
    host = parts.hostname or ""
    addresses = resolve_public(host, port)
    named = f"[{host}]" if ":" in host else host
    headers = {**headers, "Host": named if parts.port is None else f"{named}:{parts.port}"}
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for index, address in enumerate(addresses):
            literal = f"[{address}]" if ":" in address else address
            pinned = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
            try:
                return client.post(pinned, content=content, headers=headers, extensions=extensions)
            except httpx.ConnectError:
                if index == len(addresses) - 1:
                    raise
    raise UnsafeWebhookURL(_("The host %(host)s could not be resolved.") % {"host": host})


def endpoints_for(clinic):
    """The clinic's endpoints, oldest first."""
    return WebhookEndpoint.objects.for_clinic(clinic).order_by("created_at", "id")


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, tolerance_seconds: int = 300, now: float | None = None) -> bool:
    """What a receiver does: the header's timestamp is recent and its v1 is our HMAC of the raw body."""
    parts = dict(item.split("=", 1) for item in (header or "").split(",") if "=" in item)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def emit(clinic, event: str, event_id: str, data: dict) -> list[WebhookDelivery]:
    """Queue `event` for each active endpoint of the clinic that chose it; at most once per endpoint and event id.

    Sending starts when the surrounding transaction commits.
    """
    if event not in EVENTS:
        raise ValueError(f"Unknown webhook event {event!r}")
    payload = {"id": event_id, "event": event,
               "timestamp": timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
               "data": data}
    payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    queued = []
    for endpoint in WebhookEndpoint.objects.for_clinic(clinic).filter(active=True, events__contains=[event]):
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, event_id=event_id,
                                                          payload=payload)
        except IntegrityError:
            continue  # already queued for this endpoint
        queued.append(delivery)
        transaction.on_commit(lambda pk=str(delivery.pk): deliver_webhook.delay(pk))
    return queued


def backoff_seconds(attempts_made: int) -> int:
    """30 s, 1 min, 2 min, 4 min, 8 min between the six attempts."""
    return BACKOFF_BASE_SECONDS * 2 ** max(attempts_made - 1, 0)


def _attempt(delivery: WebhookDelivery) -> bool:
    """POST the delivery once and record the outcome on the row; True when the receiver answered 2xx."""
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Frontdesk-Webhooks/1.0",
               "X-Frontdesk-Event": delivery.event, "X-Frontdesk-Event-Id": delivery.event_id,
               SIGNATURE_HEADER: sign(delivery.endpoint.secret, body, int(time.time()))}
    delivery.attempts += 1
    delivery.last_attempt_at = timezone.now()
    try:
        response = _pinned_post(delivery.endpoint.url, content=body, headers=headers,
                                timeout=getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10.0))
    except (httpx.HTTPError, UnsafeWebhookURL) as exc:
        delivery.last_status_code = None
        delivery.last_error = f"{exc.__class__.__name__}: {exc}"[:1000]
        ok = False
    else:
        delivery.last_status_code = response.status_code
        ok = 200 <= response.status_code < 300
        delivery.last_error = "" if ok else response.text[:1000]
    if ok:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = delivery.last_attempt_at
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
    delivery.save(update_fields=["attempts", "last_attempt_at", "last_status_code", "last_error", "status",
                                 "delivered_at"])
    return ok


@shared_task(name="telephony.deliver_webhook")
def deliver_webhook(delivery_id: str) -> str:
    """Send one pending delivery; on failure retry later with backoff, giving up after MAX_ATTEMPTS.

    Returns the delivery's status. A delivered or abandoned delivery is never sent again.
    """
    with transaction.atomic():
        # A second worker holding the same message (redelivery) skips the row instead of posting it twice.
        delivery = (WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("endpoint").filter(pk=delivery_id).first())
        if delivery is None:
            return "missing or busy"
        if delivery.status != WebhookDelivery.Status.PENDING:
            return delivery.status
        if not delivery.endpoint.active:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.last_error = "endpoint disabled"
            delivery.save(update_fields=["status", "last_error"])
            return delivery.status
        if _attempt(delivery):
            return delivery.status
        if delivery.status == WebhookDelivery.Status.FAILED:
            logger.warning("Webhook delivery %s abandoned after %d attempts", delivery.pk, delivery.attempts)
            return delivery.status
        countdown = backoff_seconds(delivery.attempts)
    # The next attempt is a new message with a countdown (the row counts attempts, so a redelivered message
    # cannot exceed MAX_ATTEMPTS); eager mode runs it at once, which the tests rely on.
    deliver_webhook.apply_async(args=[str(delivery_id)], countdown=countdown)
    return "retrying"


# --- the voice events ------------------------------------------------------------------------------------------

def _conversation_key(call) -> str:
    return call.conversation_id or str(call.id)


def _patient_name(call) -> str | None:
    """The name of the clinic's patient with the caller's number (the same blind index), if there is one."""
    if not call.phone_index:
        return None
    patient = Patient.objects.for_clinic(call.clinic_id).filter(phone_index=call.phone_index).only("name").first()
    return (patient.name or None) if patient else None


def end_report_data(call) -> dict:
    """The `conversation.end_report` body for a completed call (docs/api/voice.md, Webhooks)."""
    recording_url = recording_link(call)[0] if call.recording_path else None
    return {
        "call_id": str(call.id),
        "conversation_id": call.conversation_id,
        "agent_id": call.agent_id,
        "direction": call.direction,
        "participant": {"number": call.phone_number or None, "name": _patient_name(call)},
        "duration_seconds": call.duration_secs,
        "status": call.status,
        "transcript_url": settings.SITE_URL.rstrip("/") + reverse("v1-call-detail", kwargs={"pk": call.pk}),
        "recording_url": recording_url,
        "sentiment": call.sentiment or None,
        "summary": call.summary,
    }


def status_data(call) -> dict:
    return {"call_id": str(call.id), "conversation_id": call.conversation_id, "agent_id": call.agent_id,
            "status": call.status}


def call_status_changed(call, *, provider_status: str = "") -> list[WebhookDelivery]:
    """`conversation.status` for the call's current status (once per call and status). A provider's status report
    (queued, ringing, in-progress, completed, no-answer...) is its own event, named in `provider_status`, since
    several reports can leave the call's own status as it was (queued and ringing are both "initiated")."""
    if not provider_status:
        return emit(call.clinic, WebhookEndpoint.Event.CONVERSATION_STATUS,
                    f"conversation.status:{call.id}:{call.status}", status_data(call))
    return emit(call.clinic, WebhookEndpoint.Event.CONVERSATION_STATUS,
                f"conversation.status:{call.id}:provider:{provider_status}",
                {**status_data(call), "provider_status": provider_status})


def conversation_completed(call, analysis: dict | None = None) -> list[WebhookDelivery]:
    """The events of a finished conversation: its end report and status, its intent, the provider's evaluation."""
    key = _conversation_key(call)
    queued = emit(call.clinic, WebhookEndpoint.Event.CONVERSATION_END_REPORT, f"conversation.end_report:{key}",
                  end_report_data(call))
    queued += call_status_changed(call)
    if call.intent:
        queued += emit(call.clinic, WebhookEndpoint.Event.INTENT_CALL, f"intent.call:{key}",
                       {**status_data(call), "intent": call.intent, "appointment_booked": call.appointment_booked})
    evaluation = (analysis or {}).get("evaluation_criteria_results")
    if evaluation:
        queued += emit(call.clinic, WebhookEndpoint.Event.TEXT_EVALUATION, f"evaluation.text:{key}",
                       {**status_data(call), "call_successful": call.call_successful, "criteria": evaluation})
    return queued
