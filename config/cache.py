"""The Redis cache, degrading instead of failing when Redis is unreachable.

The cache holds rate-limit windows, login-failure counters, revoked sessions and the live API-call counter; none
of it is worth a 500. While Redis does not answer (connection refused, timeout), every operation answers as an
empty cache would: reads miss, writes are dropped, `add` reports the key as taken and `incr` restarts the count at
`delta`, so rate limits fail open. One warning a minute per process says so, `cache.unavailable` tells callers
(clinics/ratelimit.py logs the limits it could not apply), and the next operation tries Redis again: nothing waits
for a restart. `/health` reports Redis down meanwhile (config/health.py).
"""
import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
WARN_EVERY_SECONDS = 60


class SharedClientRedisCacheClient(RedisCacheClient):
    """One `redis.Redis` per connection pool, instead of the new one Django builds for every cache operation (with
    its table of some 170 response callbacks: about 0.2 ms each time, on every rate-limit check). A `redis.Redis`
    may be shared between threads; its pool holds the connections either way."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class DegradingRedisCache(RedisCache):
    unavailable = False
    _warned_at = 0.0

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient

    def _degrade(self, operation, exc, fallback):
        self.unavailable = True
        now = time.monotonic()
        if now - DegradingRedisCache._warned_at >= WARN_EVERY_SECONDS:
            DegradingRedisCache._warned_at = now
            logger.warning("Redis cache unreachable (%s: %s): %s degraded to an empty cache; rate limits fail open",
                           type(exc).__name__, exc, operation)
        return fallback

    def _call(self, operation, fallback, *args, **kwargs):
        try:
            result = getattr(super(), operation)(*args, **kwargs)
        except UNREACHABLE as exc:
            return self._degrade(operation, exc, fallback)
        self.unavailable = False
        return result

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", False, key, value, timeout, version=version)

    def get(self, key, default=None, version=None):
        return self._call("get", default, key, default, version=version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", None, key, value, timeout, version=version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", False, key, timeout, version=version)

    def delete(self, key, version=None):
        return self._call("delete", False, key, version=version)

    def get_many(self, keys, version=None):
        return self._call("get_many", {}, keys, version=version)

    def has_key(self, key, version=None):
        return self._call("has_key", False, key, version=version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", delta, key, delta, version=version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", list(data), data, timeout, version=version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", None, keys, version=version)

    def clear(self):
        return self._call("clear", False)
