"""`/health`: is each real service reachable? 200 when all are, 503 naming the ones that are down.

Every call probes again, with fresh connections and one-second timeouts: a Redis that was down when the process
started (or went away since) is reported up as soon as it answers, without a restart.
"""
import time

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("select extname from pg_extension where extname in ('vector', 'btree_gist')")
        extensions = sorted(row[0] for row in cursor.fetchall())
    return {"extensions": extensions}


def _check_redis():
    if not settings.REDIS_URL:
        raise ConnectionError("REDIS_URL is empty: tasks run in-process and the cache is local")
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return {}


def _check_broker():
    if not settings.REDIS_URL:
        return {"mode": "in-process"}
    from config.celery import app

    with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=1)
    return {"mode": "in-process" if settings.CELERY_TASK_ALWAYS_EAGER else "worker"}


CHECKS = {"database": _check_database, "redis": _check_redis, "broker": _check_broker}


def health(request):
    results, healthy = {}, True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            extra = check()
            results[name] = {"status": "up", **extra}
        except Exception as exc:  # a health check reports failures, it does not raise them
            healthy = False
            results[name] = {"status": "down", "error": str(exc)[:200]}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    down = [name for name, result in results.items() if result["status"] == "down"]
    return JsonResponse({"status": "ok" if healthy else "degraded", "down": down, "checks": results},
                        status=200 if healthy else 503)
