"""Observability: the request id (config/request_id.py) follows a request into its log lines and the tasks it
queues; /metrics (config/metrics.py) shows latency, queue depth, task failures and messages to the token's bearer."""
import json
import logging
import uuid

import pytest
import redis
from django.conf import settings as django_settings
from prometheus_client import REGISTRY

from config import request_id
from config.celery import app
from config.logging import JsonFormatter
from telephony.tasks import send_sms_task

pytestmark = pytest.mark.django_db

TOKEN = "metrics-test-token"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return response.content.decode()


def test_a_sane_request_id_is_kept_and_returned(client):
    response = client.get("/health", HTTP_X_REQUEST_ID="lb-1234.abc")
    assert response["X-Request-ID"] == "lb-1234.abc"


@pytest.mark.parametrize("given", [None, "", "x" * 65, "bad id", "<script>", "a\u00e9b"])
def test_a_missing_or_insane_request_id_is_replaced_by_a_new_one(client, given):
    headers = {} if given is None else {"HTTP_X_REQUEST_ID": given}
    response = client.get("/health", **headers)
    assert response["X-Request-ID"] != given and request_id.SANE.match(response["X-Request-ID"])


def test_two_requests_get_different_ids(client):
    assert client.get("/health")["X-Request-ID"] != client.get("/health")["X-Request-ID"]


def test_metrics_without_a_configured_token_does_not_exist(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_with_a_wrong_or_missing_token_does_not_exist(client, metrics_token):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404


def test_metrics_show_request_latency_by_route_name(client, metrics_token):
    client.get("/health")
    page = scrape(client)
    assert 'frontdesk_http_request_duration_seconds_count{method="GET",route="health",status="2xx"}' in page


def test_metrics_show_the_depth_of_each_celery_queue(client, metrics_token, settings):
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("the queue depth is read from Redis")
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = f"test-depth-{uuid.uuid4().hex[:8]}"
    settings.CELERY_QUEUE_NAMES = (*settings.CELERY_QUEUE_NAMES, queue)
    broker.rpush(queue, "a", "b", "c")
    try:
        page = scrape(client)
    finally:
        broker.delete(queue)
    assert f'frontdesk_celery_queue_length{{queue="{queue}"}} 3.0' in page
    assert 'frontdesk_celery_queue_length{queue="voice"}' in page


def _failures(task_name):
    return REGISTRY.get_sample_value("frontdesk_celery_task_failures_total", {"task": task_name}) or 0


def test_a_failing_task_counts_and_logs_the_request_id_that_queued_it(caplog):
    before = _failures("telephony.send_sms")
    # As a worker runs a delivered message: the request id arrives in the message headers, the error is not
    # propagated to the caller (test_a_queued_task_message_carries_the_request_id shows the header is stamped).
    with caplog.at_level(logging.ERROR, logger="frontdesk.tasks"):
        result = send_sms_task.apply(args=("not-a-message-id",), headers={request_id.TASK_HEADER: "req-queued-it"},
                                     throw=False)
    assert result.failed()

    assert _failures("telephony.send_sms") == before + 1
    failed = [r for r in caplog.records if r.name == "frontdesk.tasks" and "telephony.send_sms" in r.getMessage()]
    assert failed and failed[0].request_id == "req-queued-it"
    line = json.loads(JsonFormatter().format(failed[0]))
    assert line["request_id"] == "req-queued-it" and line["task_name"] == "telephony.send_sms"
    assert line["level"] == "ERROR"


def test_a_queued_task_message_carries_the_request_id(settings):
    if not django_settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("reads the published message from Redis")
    queue = f"test-rid-{uuid.uuid4().hex[:8]}"
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with request_id.bind("req-published"):
            app.send_task("frontdesk.ping", queue=queue)
        message = json.loads(broker.lpop(queue))
    finally:
        app.conf.task_always_eager = previous
        broker.delete(queue)
    assert message["headers"][request_id.TASK_HEADER] == "req-published"


def test_outbound_messages_count_by_provider(client, clinic, metrics_token, settings):
    from telephony.services import message_deliver, message_queue

    settings.PROVIDERS = {**settings.PROVIDERS, "sms": "local"}
    before = REGISTRY.get_sample_value("frontdesk_messages_total",
                                       {"provider": "local", "channel": "sms", "status": "sent"}) or 0
    message_deliver(message=message_queue(clinic=clinic, to="+351912345678", body="Hello"))
    after = REGISTRY.get_sample_value("frontdesk_messages_total",
                                      {"provider": "local", "channel": "sms", "status": "sent"})
    assert after == before + 1
    assert 'frontdesk_messages_total{channel="sms",provider="local",status="sent"}' in scrape(client)
