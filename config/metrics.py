"""Prometheus metrics at `/metrics` (text format), for the operator's scraper only: without `METRICS_TOKEN` set, or
without `Authorization: Bearer <METRICS_TOKEN>`, the page does not exist (404).

- `frontdesk_http_request_duration_seconds` (histogram, by route name, method and status class),
- `frontdesk_celery_queue_length` (Redis `LLEN` of each Celery queue, read when scraped),
- `frontdesk_celery_task_failures_total` (by task name),
- `frontdesk_messages_total` (outbound messages sent or failed, by provider and channel).

Counters live in each process (no multiprocess directory): scrape each web and worker process, or read them as
per-process series.
"""
import hmac
import logging
import time

import redis
from celery.signals import task_failure
from django.conf import settings
from django.db.models.signals import post_save
from django.http import Http404, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from config import request_id

logger = logging.getLogger("frontdesk.tasks")

REQUEST_LATENCY = Histogram(
    "frontdesk_http_request_duration_seconds", "Time to answer an HTTP request, by route name.",
    ["route", "method", "status"])
TASK_FAILURES = Counter("frontdesk_celery_task_failures", "Celery tasks that raised, by task name.", ["task"])
MESSAGES = Counter("frontdesk_messages", "Outbound messages sent or failed, by provider and channel.",
                   ["provider", "channel", "status"])
UNMATCHED = "<unmatched>"


def route_name(request) -> str:
    """The URL pattern's name (or its route) the request resolved to; one label per route, never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    return match.view_name or match.route or UNMATCHED


class MetricsMiddleware:
    """Observes each request's latency under its route name."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        REQUEST_LATENCY.labels(route=route_name(request), method=request.method,
                               status=f"{response.status_code // 100}xx").observe(time.perf_counter() - started)
        return response


class QueueDepthCollector:
    """Reads the length of each Celery queue from Redis when scraped; a Redis that does not answer leaves the
    gauge out (the scrape still succeeds)."""

    def collect(self):
        gauge = GaugeMetricFamily("frontdesk_celery_queue_length", "Tasks waiting in each Celery queue.",
                                  labels=["queue"])
        url = settings.CELERY_BROKER_URL
        if url.startswith(("redis://", "rediss://", "unix://")):
            try:
                client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
                with client.pipeline() as pipe:
                    for queue in settings.CELERY_QUEUE_NAMES:
                        pipe.llen(queue)
                    lengths = pipe.execute()
                for queue, length in zip(settings.CELERY_QUEUE_NAMES, lengths):
                    gauge.add_metric([queue], length)
            except redis.RedisError as exc:
                logger.warning("metrics: queue lengths unavailable: %s", exc.__class__.__name__)
        yield gauge


REGISTRY.register(QueueDepthCollector())


@task_failure.connect(dispatch_uid="metrics.task_failure")
def _task_failed(sender=None, task_id=None, exception=None, **kwargs):
    name = getattr(sender, "name", "") or "unknown"
    TASK_FAILURES.labels(task=name).inc()
    logger.error("task failed: %s: %s", name, exception.__class__.__name__,
                 extra={"request_id": request_id.task_request_id(sender), "task_name": name, "task_id": task_id})


def _message_saved(sender, instance, created, update_fields=None, **kwargs):
    """An outbound message counts as sent when the provider accepted it (it got the provider's id), as failed when
    its status became failed."""
    if instance.direction != "outbound":
        return
    fields = set(update_fields or ())
    if instance.status == "failed" and (created or "status" in fields):
        status = "failed"
    elif instance.status != "failed" and ("provider_message_id" in fields or (created and instance.status == "sent")):
        status = "sent"
    else:
        return
    MESSAGES.labels(provider=instance.provider or "unknown", channel=instance.channel, status=status).inc()


# By name: this module is loaded with the Celery app, before the models are.
post_save.connect(_message_saved, sender="telephony.Message", dispatch_uid="metrics.message_saved")


def metrics_view(request):
    """The Prometheus text page, for a bearer of METRICS_TOKEN; 404 for anyone else or when no token is set."""
    token = getattr(settings, "METRICS_TOKEN", "")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        raise Http404()
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
