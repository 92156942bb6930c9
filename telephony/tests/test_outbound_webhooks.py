"""Webhooks out: endpoints managed on /api/v1/webhooks; deliveries signed, retried with backoff, logged."""
import json
import time

import pytest
from werkzeug import Response

from telephony.models import WebhookDelivery, WebhookEndpoint
from telephony.outbound_webhooks import (MAX_ATTEMPTS, backoff_seconds, emit, sign, verify,
                                         webhook_deliveries_retry, webhook_endpoint_create)
from telephony.tests.factories import CallFactory
from clinics.models import AuditEvent

pytestmark = pytest.mark.django_db


def deliver_now(django_capture_on_commit_callbacks, clinic, event="conversation.end_report", event_id="evt_1",
                data=None):
    with django_capture_on_commit_callbacks(execute=True):
        return emit(clinic, event, event_id, data or {"conversation_id": "conv_1"})


@pytest.mark.usefixtures("local_webhook_receivers")
def test_a_receiver_verifies_the_signature_over_the_raw_body(clinic, httpserver,
                                                             django_capture_on_commit_callbacks):
    endpoint, secret = webhook_endpoint_create(clinic=clinic, url=httpserver.url_for("/hook"), events=["conversation.end_report"])
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    deliver_now(django_capture_on_commit_callbacks, clinic)
    request = httpserver.log[0][0]
    body = request.get_data()
    header = request.headers["X-Frontdesk-Signature"]
    timestamp = int(header.split(",")[0].removeprefix("t="))
    assert abs(time.time() - timestamp) < 60
    # Recomputed the way a receiver would, independently of our helper:
    import hashlib
    import hmac

    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert header == f"t={timestamp},v1={expected}"
    assert verify(secret, body, header)
    assert not verify(secret, body + b" ", header)
    assert not verify("whsec_other", body, header)
    assert request.headers["X-Frontdesk-Event"] == "conversation.end_report"
    sent = json.loads(body)
    assert sent["event"] == "conversation.end_report" and sent["data"] == {"conversation_id": "conv_1"}
    assert sent["timestamp"].endswith("Z") and sent["id"] == "evt_1"
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "delivered" and delivery.attempts == 1 and delivery.last_status_code == 200


def test_an_old_signature_fails_verification():
    body = b'{"event":"x"}'
    header = sign("whsec_s", body, int(time.time()) - 3600)
    assert not verify("whsec_s", body, header)


@pytest.mark.usefixtures("local_webhook_receivers")
def test_a_500_is_retried_then_delivered(clinic, httpserver, django_capture_on_commit_callbacks):
    webhook_endpoint_create(clinic=clinic, url=httpserver.url_for("/hook"), events=["conversation.end_report"])
    answers = iter([Response("down", status=500), Response("ok", status=200)])
    httpserver.expect_request("/hook", method="POST").respond_with_handler(lambda request: next(answers))
    deliver_now(django_capture_on_commit_callbacks, clinic)
    delivery = WebhookDelivery.objects.get()
    assert len(httpserver.log) == 2
    assert delivery.status == "delivered" and delivery.attempts == 2 and delivery.last_status_code == 200
    first, second = (entry[0].headers["X-Frontdesk-Event-Id"] for entry in httpserver.log)
    assert first == second == "evt_1"


@pytest.mark.usefixtures("local_webhook_receivers")
def test_gives_up_after_the_maximum_attempts_and_records_it(clinic, httpserver, django_capture_on_commit_callbacks):
    webhook_endpoint_create(clinic=clinic, url=httpserver.url_for("/hook"), events=["conversation.end_report"])
    httpserver.expect_request("/hook", method="POST").respond_with_data("broken", status=503)
    deliver_now(django_capture_on_commit_callbacks, clinic)
    delivery = WebhookDelivery.objects.get()
    assert len(httpserver.log) == MAX_ATTEMPTS == 6
    assert delivery.status == "failed" and delivery.attempts == 6
    assert delivery.last_status_code == 503 and delivery.last_error == "broken"


@pytest.mark.usefixtures("local_webhook_receivers")
def test_an_unreachable_endpoint_is_retried_and_recorded(clinic, django_capture_on_commit_callbacks):
    webhook_endpoint_create(clinic=clinic, url="http://127.0.0.1:9/hook", events=["conversation.end_report"])
    deliver_now(django_capture_on_commit_callbacks, clinic)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == MAX_ATTEMPTS
    assert delivery.last_status_code is None and "Connect" in delivery.last_error


@pytest.mark.usefixtures("local_webhook_receivers")
def test_an_abandoned_delivery_is_sent_again_once_the_receiver_is_mended(clinic, other_clinic, httpserver,
                                                                         django_capture_on_commit_callbacks):
    webhook_endpoint_create(clinic=clinic, url=httpserver.url_for("/hook"), events=["conversation.end_report"])
    answers = iter([Response("broken", status=503)] * MAX_ATTEMPTS + [Response("ok", status=200)])
    httpserver.expect_request("/hook", method="POST").respond_with_handler(lambda request: next(answers))
    deliver_now(django_capture_on_commit_callbacks, clinic)
    failed = WebhookDelivery.objects.get()
    assert failed.status == "failed" and failed.attempts == MAX_ATTEMPTS

    # Another clinic's ids change nothing, and nothing is sent.
    assert webhook_deliveries_retry(clinic=other_clinic, delivery_ids=[failed.pk]) == []
    failed.refresh_from_db()
    assert failed.status == "failed" and len(httpserver.log) == MAX_ATTEMPTS

    with django_capture_on_commit_callbacks(execute=True):
        retried = webhook_deliveries_retry(clinic=clinic, delivery_ids=[failed.pk])
    assert [delivery.pk for delivery in retried] == [failed.pk]
    failed.refresh_from_db()
    assert failed.status == "delivered" and failed.attempts == 1 and failed.last_status_code == 200
    assert {entry[0].headers["X-Frontdesk-Event-Id"] for entry in httpserver.log} == {"evt_1"}
    row = AuditEvent.objects.get(action="webhook_delivery.retry")
    assert (row.object_id, row.clinic_id, row.extra["previous_attempts"]) == (str(failed.pk), clinic.pk, MAX_ATTEMPTS)

    # A delivered one is not sent again.
    assert webhook_deliveries_retry(clinic=clinic, delivery_ids=[failed.pk]) == []
    assert len(httpserver.log) == MAX_ATTEMPTS + 1


def test_backoff_doubles_between_attempts():
    assert [backoff_seconds(attempt) for attempt in range(1, MAX_ATTEMPTS)] == [30, 60, 120, 240, 480]


@pytest.mark.usefixtures("local_webhook_receivers")
def test_an_event_is_queued_once_per_endpoint_and_only_where_chosen(clinic, other_clinic, httpserver,
                                                                    django_capture_on_commit_callbacks):
    chosen, _ = webhook_endpoint_create(clinic=clinic, url=httpserver.url_for("/a"), events=["conversation.end_report", "evaluation.text"])
    webhook_endpoint_create(clinic=clinic, url=httpserver.url_for("/b"), events=["evaluation.voice"])
    webhook_endpoint_create(clinic=clinic, url=httpserver.url_for("/c"), events=["conversation.end_report"], active=False)
    webhook_endpoint_create(clinic=other_clinic, url=httpserver.url_for("/d"), events=["conversation.end_report"])
    httpserver.expect_request("/a", method="POST").respond_with_data("ok")
    deliver_now(django_capture_on_commit_callbacks, clinic)
    deliver_now(django_capture_on_commit_callbacks, clinic)
    assert [delivery.endpoint for delivery in WebhookDelivery.objects.all()] == [chosen]
    assert [entry[0].path for entry in httpserver.log] == ["/a"]


def test_unknown_event_is_refused(clinic):
    with pytest.raises(ValueError):
        emit(clinic, "conversation.bogus", "evt", {})


# --- the endpoints API (our extension, voice surface) -----------------------------------------------------------

def test_create_list_and_delete_an_endpoint(client_for, clinic):
    created = client_for.post("/api/v1/webhooks", {"url": "https://integration.example/webhook/1",
                                                   "events": ["conversation.end_report", "evaluation.text"]},
                              format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["success"] is True
    assert body["data"]["secret"].startswith("whsec_")
    assert body["data"]["events"] == ["conversation.end_report", "evaluation.text"] and body["data"]["active"]
    listed = client_for.get("/api/v1/webhooks").json()
    assert listed["success"] is True and listed["meta"]["total"] == 1
    assert "secret" not in listed["data"][0]
    assert WebhookEndpoint.objects.get().secret == body["data"]["secret"]
    deleted = client_for.delete(f"/api/v1/webhooks/{body['data']['id']}")
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("payload, field", [
    ({"url": "https://x.example/h", "events": ["conversation.nope"]}, "events"),
    ({"url": "https://x.example/h", "events": []}, "events"),
    ({"url": "ftp://x.example/h", "events": ["conversation.end_report"]}, "url"),
    ({"events": ["conversation.end_report"]}, "url"),
])
def test_bad_endpoint_is_400_in_the_voice_shape(client_for, payload, field):
    response = client_for.post("/api/v1/webhooks", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["data"] is None and field in body["errors"]


def test_another_clinics_endpoint_is_404_and_kept(foreign_client, clinic):
    endpoint, _ = webhook_endpoint_create(clinic=clinic, url="https://integration.example/h", events=["conversation.end_report"])
    response = foreign_client.delete(f"/api/v1/webhooks/{endpoint.id}")
    assert response.status_code == 404 and response.json()["success"] is False
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert foreign_client.get("/api/v1/webhooks").json()["meta"]["total"] == 0


def test_a_read_only_key_cannot_add_an_endpoint(make_client, clinic):
    response = make_client(clinic, permissions=("read",)).post(
        "/api/v1/webhooks", {"url": "https://x.example/h", "events": ["conversation.status"]}, format="json")
    assert response.status_code == 403


@pytest.mark.usefixtures("local_webhook_receivers")
def test_call_factory_end_report_reaches_a_subscribed_endpoint(clinic, httpserver,
                                                               django_capture_on_commit_callbacks):
    from telephony.outbound_webhooks import conversation_completed

    webhook_endpoint_create(clinic=clinic, url=httpserver.url_for("/hook"), events=["conversation.end_report", "intent.call",
                                                          "conversation.status"])
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    call = CallFactory(clinic=clinic)
    with django_capture_on_commit_callbacks(execute=True):
        conversation_completed(call)
    events = sorted(json.loads(entry[0].get_data())["event"] for entry in httpserver.log)
    assert events == ["conversation.end_report", "conversation.status", "intent.call"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/hook", "http://localhost/hook", "https://10.0.0.5/h",
                                 "http://169.254.169.254/latest/meta-data", "https://[::1]/h",
                                 "https://metadata.google.internal/x"])
def test_an_endpoint_on_a_local_or_private_address_is_refused(client_for, url):
    response = client_for.post("/api/v1/webhooks", {"url": url, "events": ["conversation.status"]}, format="json")
    assert response.status_code == 400 and "url" in response.json()["errors"]
    assert not WebhookEndpoint.objects.exists()


def test_creating_and_deleting_an_endpoint_is_audited(client_for, clinic):
    created = client_for.post("/api/v1/webhooks", {"url": "https://integration.example/h",
                                                   "events": ["conversation.status"]}, format="json").json()
    client_for.delete(f"/api/v1/webhooks/{created['data']['id']}")
    actions = list(AuditEvent.objects.filter(clinic=clinic, object_type="webhook_endpoint")
                   .order_by("created_at").values_list("action", flat=True))
    assert actions == ["webhook_endpoint.create", "webhook_endpoint.delete"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_webhook_receivers")
def test_a_real_worker_delivers_a_queued_event(clinic, httpserver, celery_worker_queue):
    from conftest import wait_for

    from telephony.outbound_webhooks import deliver_webhook

    webhook_endpoint_create(clinic=clinic, url=httpserver.url_for("/hook"), events=["conversation.status"])
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    delivery = WebhookDelivery.objects.create(endpoint=WebhookEndpoint.objects.get(), event="conversation.status",
                                              event_id="evt_worker", payload={"event": "conversation.status"})
    deliver_webhook.apply_async(args=[str(delivery.id)], queue=celery_worker_queue)
    assert wait_for(lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status="delivered").exists(), timeout=30)
    assert len(httpserver.log) == 1
