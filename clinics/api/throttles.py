"""The DRF throttles of the API surfaces, over the windows and counters of `clinics.ratelimit`.

Surfaces attach them (config/surfaces). A view opts out with `rate_limit_exempt = True` (webhooks,
`/notes/v1/notes/{id}/status`); everything under `/api/webhooks/` is exempt anyway.
"""
import math
import time

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
