"""The DRF throttles of the API surfaces, over the windows and counters of `clinics.ratelimit`.

Surfaces attach them (config/surfaces). A view opts out with `rate_limit_exempt = True` (webhooks,
`/notes/v1/notes/{id}/status`); everything under `/api/webhooks/` is exempt anyway.
"""
import hashlib
import ipaddress
import math
import time

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

from ..ratelimit import WEBHOOK_PREFIXES, Window, count_api_call, hit

UNIT_NAMES = {60: "minute", 3600: "hour"}


def is_exempt(request, view) -> bool:
    return getattr(view, "rate_limit_exempt", False) or request.path.startswith(WEBHOOK_PREFIXES)


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _throttled(window: Window, now: float):
    error = exceptions.Throttled(detail=_("Rate limit exceeded: %(limit)d requests per %(unit)s") % {
        "limit": window.limit, "unit": UNIT_NAMES.get(window.seconds, f"{window.seconds} seconds")})
    error.wait = max(math.ceil(window.reset - now), 1)
    return error


class SurfaceRateThrottle(BaseThrottle):
    """Checks every window of a surface at once and leaves the header values on the request."""

    def windows(self, request) -> list[Window]:
        raise NotImplementedError

    def headers(self, windows: list[Window]) -> dict:
        raise NotImplementedError

    def allow_request(self, request, view):
        if is_exempt(request, view):
            return True
        now = time.time()
        windows = self.windows(request)
        request.rate_limit_headers = self.headers(windows)
        exceeded = [window for window in windows if window.exceeded]
        if exceeded:
            raise _throttled(max(exceeded, key=lambda window: window.reset), now)
        return True


def _actor(request) -> str | None:
    credential = request.auth
    if credential is not None and getattr(credential, "actor_id", None):
        return f"{credential.actor_kind}:{credential.actor_id}"
    user_id = getattr(request.user, "pk", None)
    return f"user:{user_id}" if user_id else None


class DashboardRateThrottle(SurfaceRateThrottle):
    """docs/api/dashboard.md: per user 60/min and 1000/h, per IP 100/min; `X-RateLimit-Limit/Remaining/Reset` on each answer."""

    user_per_minute = 60
    user_per_hour = 1000
    ip_per_minute = 100

    def windows(self, request):
        windows = [hit(f"dashboard:ip:{client_ip(request)}", self.ip_per_minute, 60)]
        actor = _actor(request)
        if actor:
            windows = [hit(f"dashboard:{actor}", self.user_per_minute, 60),
                       hit(f"dashboard:{actor}", self.user_per_hour, 3600)] + windows
        return windows

    def headers(self, windows):
        # Report the window closest to refusing, so a client slowing down to it never meets a 429.
        tightest = min(windows, key=lambda window: (window.remaining, window.reset))
        return {"X-RateLimit-Limit": str(tightest.limit), "X-RateLimit-Remaining": str(tightest.remaining),
                "X-RateLimit-Reset": str(tightest.reset)}


class NotesRateThrottle(SurfaceRateThrottle):
    """docs/api/notes.md: per API key 100/min and 1000/h, with `X-RateLimit-*-Minute` (and `-Hour`) headers."""

    per_minute = 100
    per_hour = 1000

    def windows(self, request):
        actor = _actor(request) or f"ip:{client_ip(request)}"
        return [hit(f"notes:{actor}", self.per_minute, 60), hit(f"notes:{actor}", self.per_hour, 3600)]

    def headers(self, windows):
        minute, hour = windows
        return {"X-RateLimit-Limit-Minute": str(minute.limit), "X-RateLimit-Remaining-Minute": str(minute.remaining),
                "X-RateLimit-Reset-Minute": str(minute.reset), "X-RateLimit-Limit-Hour": str(hour.limit),
                "X-RateLimit-Remaining-Hour": str(hour.remaining), "X-RateLimit-Reset-Hour": str(hour.reset)}


class AgentToolRateThrottle(SurfaceRateThrottle):
    """The phone agent's tool calls (`X-Agent-Token`), limited as real calls behave rather than per token or IP.

    - per conversation (`X-Conversation-Id` header or `conversation_id` in the body): `per_conversation_per_minute`;
      one caller's runaway loop stops there, the clinic's other calls go on;
    - per clinic: `AGENT_CONCURRENT_CALLS` calls at once (settings, default 20) x `per_call_per_minute`, so a
      clinic's busy hour fits and a stolen token cannot flood the agenda; calls without a conversation id count
      here only;
    - per IP address: `ip_per_minute`, only for addresses outside the voice provider's documented ones
      (settings `VOICE_PROVIDER_ADDRESSES`, CIDR networks): every clinic's tool calls arrive from those few
      addresses, so a shared per-IP window would refuse real traffic.
    Headers as the dashboard's (`X-RateLimit-Limit/Remaining/Reset`, the window closest to refusing).
    """

    per_conversation_per_minute = 60
    per_call_per_minute = 30
    ip_per_minute = 100

    def conversation_id(self, request) -> str:
        value = request.headers.get("X-Conversation-Id") or ""
        if not value:
            try:
                data = request.data
            except Exception:  # an unparsable body is the view's 400, not the throttle's
                data = None
            value = data.get("conversation_id") if isinstance(data, dict) else ""
            value = value or request.query_params.get("conversation_id", "")
        return str(value or "").strip()[:100]

    def from_provider(self, request) -> bool:
        networks = getattr(settings, "VOICE_PROVIDER_ADDRESSES", ()) or ()
        try:
            address = ipaddress.ip_address(client_ip(request))
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(network, strict=False) for network in networks)

    def windows(self, request):
        clinic = getattr(request.auth, "clinic", None)
        if clinic is None:
            return [hit(f"agent:ip:{client_ip(request)}", self.ip_per_minute, 60)]
        concurrent = int(getattr(settings, "AGENT_CONCURRENT_CALLS", 20) or 20)
        windows = [hit(f"agent:clinic:{clinic.pk}", concurrent * self.per_call_per_minute, 60)]
        conversation = self.conversation_id(request)
        if conversation:
            digest = hashlib.sha256(conversation.encode()).hexdigest()[:32]  # free text from the provider
            windows.insert(0, hit(f"agent:conversation:{clinic.pk}:{digest}", self.per_conversation_per_minute, 60))
        if not self.from_provider(request):
            windows.append(hit(f"agent:ip:{client_ip(request)}", self.ip_per_minute, 60))
        return windows

    def headers(self, windows):
        tightest = min(windows, key=lambda window: (window.remaining, window.reset))
        return {"X-RateLimit-Limit": str(tightest.limit), "X-RateLimit-Remaining": str(tightest.remaining),
                "X-RateLimit-Reset": str(tightest.reset)}


def add_headers(request, response):
    """Copy the rate-limit headers a throttle left on the request onto the response (429s included)."""
    for name, value in (getattr(request, "rate_limit_headers", None) or {}).items():
        response[name] = value
    return response


class ApiCallCounter(BaseThrottle):
    """Never refuses: counts each authenticated API request towards the clinic's monthly total."""

    def allow_request(self, request, view):
        credential = request.auth
        clinic = getattr(credential, "clinic", None)
        if clinic is not None and not request.path.startswith(WEBHOOK_PREFIXES):
            count_api_call(clinic)
        return True
