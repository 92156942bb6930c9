"""Rate limits and the monthly API-call counter, as fixed-window counters in the cache (Redis).

Surfaces attach the throttles (config/surfaces): the dashboard allows 60 requests a minute and 1000 an hour per
user plus 100 a minute per IP (seed 001); the notes API 100 a minute and 1000 an hour per key (seed 004). A view
opts out with `rate_limit_exempt = True` (webhooks, `/notes/v1/notes/{id}/status`); everything under
`/api/webhooks/` is exempt anyway. Every authenticated API call also counts towards the clinic's month.
"""
import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

WEBHOOK_PREFIXES = ("/api/webhooks/",)
UNIT_NAMES = {60: "minute", 3600: "hour"}


@dataclass
class Window:
    limit: int
    seconds: int
    count: int
    reset: int  # epoch seconds when the window ends

    @property
    def remaining(self):
        return max(self.limit - self.count, 0)

    @property
    def exceeded(self):
        return self.count > self.limit


def hit(key: str, limit: int, seconds: int, now: float | None = None) -> Window:
    """Count one request against `key` in the current fixed window of `seconds`."""
    now = time.time() if now is None else now
    start = int(now // seconds) * seconds
    cache_key = f"ratelimit:{key}:{seconds}:{start}"
    cache.add(cache_key, 0, timeout=seconds + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # the key expired between add and incr
        cache.set(cache_key, 1, timeout=seconds + 5)
        count = 1
    return Window(limit, seconds, count, start + seconds)


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
    """Seed 001: per user 60/min and 1000/h, per IP 100/min; `X-RateLimit-Limit/Remaining/Reset` on each answer."""

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
    """Seed 004: per API key 100/min and 1000/h, with `X-RateLimit-*-Minute` (and `-Hour`) headers."""

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


# --- Monthly API calls per clinic -----------------------------------------------------------------------------

# The live counter is in the cache; every PERSIST_EVERY calls that many are added to the database, so a
# request costs no query in the common case and losing the cache loses fewer than PERSIST_EVERY calls.
PERSIST_EVERY = 50


def _month_start(moment=None):
    return (moment or timezone.now()).date().replace(day=1)


def _month_key(clinic_id, month):
    return f"api-calls:{clinic_id}:{month:%Y-%m}"


def count_api_call(clinic) -> None:
    """Add one API call to the clinic's month."""
    month = _month_start()
    key = _month_key(clinic.pk, month)
    cache.add(key, 0, timeout=40 * 24 * 3600)
    try:
        live = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=40 * 24 * 3600)
        live = 1
    if live % PERSIST_EVERY == 0:
        _persist(clinic, month, PERSIST_EVERY)


def _persist(clinic, month, calls: int) -> None:
    from .models import ApiUsage

    if not ApiUsage.objects.filter(clinic=clinic, month=month).update(calls=F("calls") + calls):
        try:
            with transaction.atomic():
                ApiUsage.objects.create(clinic=clinic, month=month, calls=calls)
        except IntegrityError:  # another process created the row meanwhile
            ApiUsage.objects.filter(clinic=clinic, month=month).update(calls=F("calls") + calls)


def monthly_api_calls(clinic, month=None) -> int:
    """API calls the clinic made in `month` (a date in it; default this month). Billing reads this against the
    plan's allowance (seed 003: the free tier includes 1,000 calls a month)."""
    from .models import ApiUsage

    month = _month_start() if month is None else month.replace(day=1)
    persisted = ApiUsage.objects.filter(clinic=clinic, month=month).values_list("calls", flat=True).first() or 0
    live = cache.get(_month_key(clinic.pk, month)) or 0
    return persisted + live % PERSIST_EVERY


class ApiCallCounter(BaseThrottle):
    """Never refuses: counts each authenticated API request towards the clinic's monthly total."""

    def allow_request(self, request, view):
        credential = request.auth
        clinic = getattr(credential, "clinic", None)
        if clinic is not None and not request.path.startswith(WEBHOOK_PREFIXES):
            count_api_call(clinic)
        return True
