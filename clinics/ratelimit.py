"""Rate-limit windows and the monthly API-call counter, as fixed-window counters in the cache (Redis).

The DRF throttles that apply these windows to each surface live in `clinics/api/throttles.py`: the dashboard
allows 60 requests a minute and 1000 an hour per user plus 100 a minute per IP (docs/api/dashboard.md); the
notes API 100 a minute and 1000 an hour per key (docs/api/notes.md). Every authenticated API call also counts
towards the clinic's month, which billing reads against the plan's allowance.

Redis unreachable: the limits fail open (a request is never refused because the counters are gone) and say so in
the log, at most once a minute per process; the cache backend (config/cache.py) answers as an empty cache.
"""
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from .models import ApiUsage

logger = logging.getLogger(__name__)
WEBHOOK_PREFIXES = ("/api/webhooks/",)
LOG_EVERY_SECONDS = 60
_logged_at = 0.0


def _counting_failed(what: str, exc: Exception | None = None) -> bool:
    """True when the cache could not count (it raised, or says it is unavailable); logs it once a minute."""
    global _logged_at
    if exc is None and not getattr(cache, "unavailable", False):
        return False
    now = time.monotonic()
    if now - _logged_at >= LOG_EVERY_SECONDS:
        _logged_at = now
        logger.warning("Rate limits fail open: the cache could not count %s (%s)", what,
                       f"{type(exc).__name__}: {exc}" if exc else "Redis unreachable")
    return True


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
    try:
        cache.add(cache_key, 0, timeout=seconds + 5)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # the key expired between add and incr
            cache.set(cache_key, 1, timeout=seconds + 5)
            count = 1
    except Exception as exc:  # any cache failure: the limit fails open
        _counting_failed(f"rate limit {key}", exc)
        return Window(limit, seconds, 0, start + seconds)
    if _counting_failed(f"rate limit {key}"):
        return Window(limit, seconds, 0, start + seconds)
    return Window(limit, seconds, count, start + seconds)


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
    try:
        cache.add(key, 0, timeout=40 * 24 * 3600)
        try:
            live = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=40 * 24 * 3600)
            live = 1
    except Exception as exc:  # the call is not counted rather than refused
        _counting_failed("the monthly API calls", exc)
        return
    if _counting_failed("the monthly API calls"):
        return
    if live % PERSIST_EVERY == 0:
        _persist(clinic, month, PERSIST_EVERY)


def _persist(clinic, month, calls: int) -> None:
    """Add `calls` to the clinic's row of `month` (and to no other clinic's), creating it on first use.

    One statement, so two processes persisting the month's first calls at once both count: the second insert
    meets the unique (clinic, month) row and adds to it instead of failing."""
    table = ApiUsage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, clinic_id, month, calls, updated_at) VALUES (%s, %s, %s, %s, now()) "
            f"ON CONFLICT (clinic_id, month) DO UPDATE SET calls = {table}.calls + EXCLUDED.calls, "
            f"updated_at = EXCLUDED.updated_at",
            [uuid.uuid4(), clinic.pk, month, calls])


def monthly_api_calls(clinic, month=None) -> int:
    """API calls the clinic made in `month` (a date in it; default this month). Billing reads this against the
    plan's allowance (docs/api/voice.md: the free tier includes 1,000 calls a month)."""
    month = _month_start() if month is None else month.replace(day=1)
    persisted = ApiUsage.objects.for_clinic(clinic).filter(month=month).values_list("calls", flat=True).first() or 0
    try:
        live = cache.get(_month_key(clinic.pk, month)) or 0
    except Exception as exc:
        _counting_failed("the monthly API calls", exc)
        live = 0
    return persisted + live % PERSIST_EVERY


# --- Sign-in and password-reset attempts ----------------------------------------------------------------------

# One throttle for every way in: the console's sign-in and `POST /api/auth/login` share the per-account and per-IP
# counters of "login" (a lock-out on one surface is a lock-out on the other; OAuth has no password grant), and the
# console's password reset counts every request per e-mail and per IP, so nobody floods a mailbox.
@dataclass(frozen=True)
class AttemptLimit:
    scope: str  # "account" (the normalised e-mail) or "ip"
    limit: int
    seconds: int


ATTEMPT_LIMITS = {
    "login": (AttemptLimit("account", 5, 15 * 60), AttemptLimit("ip", 30, 15 * 60)),
    "password_reset": (AttemptLimit("account", 3, 60 * 60), AttemptLimit("ip", 10, 60 * 60)),
}


def _attempt_key(action: str, scope: str, value: str) -> str:
    # A digest, so that no e-mail address sits in Redis in clear.
    return f"auth-attempts:{action}:{scope}:" + hashlib.sha256(value.encode()).hexdigest()


def _attempt_scopes(action: str, account: str, ip: str | None):
    values = {"account": (account or "").strip().lower(), "ip": ip or ""}
    for rule in ATTEMPT_LIMITS[action]:
        if values[rule.scope]:
            yield rule, _attempt_key(action, rule.scope, values[rule.scope])


def attempts_exhausted(*, action: str, account: str, ip: str | None) -> tuple[str, int] | None:
    """(scope, seconds to wait) when this account's or this IP's attempts at `action` are used up, else None.
    Redis unreachable: None (fails open, logged)."""
    for rule, key in _attempt_scopes(action, account, ip):
        try:
            count = cache.get(key, 0) or 0
        except Exception as exc:
            _counting_failed(f"{action} attempts", exc)
            return None
        if _counting_failed(f"{action} attempts"):
            return None
        if count >= rule.limit:
            try:
                wait = cache.ttl(key) if hasattr(cache, "ttl") else None
            except Exception:
                wait = None
            return rule.scope, int(wait) if wait and wait > 0 else rule.seconds
    return None


def attempt_count(*, action: str, account: str, ip: str | None) -> None:
    """Count one attempt at `action` (a failed sign-in, a reset request) for the account and for the IP; the
    window of each starts at its first attempt. Redis unreachable: nothing is counted (fails open, logged)."""
    for rule, key in _attempt_scopes(action, account, ip):
        try:
            cache.add(key, 0, timeout=rule.seconds)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=rule.seconds)
        except Exception as exc:
            _counting_failed(f"{action} attempts", exc)
            return


def attempts_clear(*, action: str, account: str) -> None:
    """Forget the account's attempts at `action` (a successful sign-in); the IP's count stays."""
    for rule, key in _attempt_scopes(action, account, None):
        try:
            cache.delete(key)
        except Exception as exc:
            _counting_failed(f"{action} attempts", exc)
