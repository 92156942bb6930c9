"""A call back happens: the `voice` task places it through the voice backend, and the local backend walks it
through the status reports a provider posts (docs/api/voice.md, Webhooks), each one recorded and sent out once."""
import datetime as dt
import json

import pytest
from django.utils import timezone

from clinics.models import AuditEvent
from telephony.backends.voice import VOICE
from telephony.models import Call, WebhookDelivery
from telephony.outbound_webhooks import webhook_endpoint_create
from telephony.tasks import place_call_task

from .factories import CallFactory

pytestmark = pytest.mark.django_db

PHONE = "+351912345678"


@pytest.fixture
def local_voice(settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "voice": "local"}
    yield settings
    VOICE.reset()


def _provider_statuses(call):
    return [event["status"] for event in call.webhook_payload["status_events"]]


def _sent_statuses(clinic):
    deliveries = WebhookDelivery.objects.for_clinic(clinic).order_by("created_at", "id")
    return [(d.payload["data"]["status"], d.payload["data"].get("provider_status")) for d in deliveries]


@pytest.mark.usefixtures("local_webhook_receivers")
def test_callback_request_is_dialled_and_completes_with_its_status_events_in_order(
        client_for, clinic, other_clinic, local_voice, httpserver, django_capture_on_commit_callbacks):
    webhook_endpoint_create(clinic=clinic, url=httpserver.url_for("/hook"), events=["conversation.status"])
    webhook_endpoint_create(clinic=other_clinic, url=httpserver.url_for("/other"), events=["conversation.status"])
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    inbound = CallFactory(clinic=clinic, phone_number=PHONE)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for.post(f"/v1/calls/{inbound.id}/callback", {}, format="json")

    assert response.status_code == 201
    call = Call.objects.get(pk=response.json()["id"])
    assert call.status == Call.Status.COMPLETED and call.clinic == clinic
    assert call.conversation_id == f"local-{call.id}" and call.ended_at is not None
    assert _provider_statuses(call) == ["queued", "ringing", "in-progress", "completed"]
    assert _sent_statuses(clinic) == [("initiated", None), ("queued", "queued"), ("ringing", "ringing"),
                                      ("in_progress", "in-progress"), ("completed", "completed")]
    sent = [json.loads(request.get_data())["data"]["provider_status"] for request, _ in httpserver.log[1:]]
    assert sent == ["queued", "ringing", "in-progress", "completed"]
    # Tenancy: the other clinic's endpoint hears nothing of it.
    assert not WebhookDelivery.objects.for_clinic(other_clinic).exists()
    audited = AuditEvent.objects.filter(object_id=str(call.id), action="call.status").order_by("created_at")
    assert [event.extra["provider_status"] for event in audited] == ["queued", "ringing", "in-progress", "completed"]
    assert {event.clinic_id for event in audited} == {clinic.id}


def test_callback_nobody_answers_ends_no_answer_after_queued_and_ringing(client_for, clinic, local_voice,
                                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for.post("/api/calls", {"phone_number": "+351912345000"}, format="json")

    call = Call.objects.get(pk=response.json()["id"])
    assert call.status == Call.Status.NO_ANSWER and call.ended_at is not None
    assert _provider_statuses(call) == ["queued", "ringing", "no-answer"]
    assert _sent_statuses(clinic) == []  # no endpoint subscribed
    # Listed and filtered by its own status on both surfaces that list calls.
    assert [item["id"] for item in client_for.get("/v1/calls", {"status": "no_answer"}).json()["items"]] == [
        str(call.id)]
    assert client_for.get("/v1/calls", {"status": "failed"}).json()["items"] == []


def test_each_progress_report_leaves_its_own_status_and_an_ended_call_stays_ended(clinic):
    from telephony.services import call_status_report

    call = CallFactory(clinic=clinic, direction="outbound", status="initiated", phone_number=PHONE)
    seen = []
    for report in ("queued", "ringing", "no-answer", "in-progress", "completed"):
        seen.append(call_status_report(call_id=call.id, provider_status=report).status)
    assert seen == ["queued", "ringing", "no_answer", "no_answer", "no_answer"]


def test_a_redelivered_dial_task_does_not_dial_twice(client_for, clinic, local_voice,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for.post("/api/calls", {"phone_number": PHONE}, format="json")
    call = Call.objects.get(pk=response.json()["id"])

    with django_capture_on_commit_callbacks(execute=True):
        assert place_call_task.delay(str(call.id)).get() == Call.Status.COMPLETED

    assert AuditEvent.objects.filter(object_id=str(call.id), action="call.placed").count() == 1
    call.refresh_from_db()
    assert _provider_statuses(call) == ["queued", "ringing", "in-progress", "completed"]


def test_a_scheduled_callback_is_not_dialled_before_its_time(client_for, clinic, local_voice,
                                                             django_capture_on_commit_callbacks):
    when = timezone.now() + dt.timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for.post("/api/calls", {"phone_number": PHONE, "scheduled_at": when.isoformat()},
                                   format="json")

    call = Call.objects.get(pk=response.json()["id"])
    assert call.status == Call.Status.SCHEDULED
    assert not AuditEvent.objects.filter(object_id=str(call.id), action="call.placed").exists()


def test_the_dial_task_is_routed_to_the_voice_queue(settings):
    from celery import current_app

    for name in ("telephony.place_call", "telephony.local_call_progress"):
        assert current_app.amqp.router.route({}, name)["queue"].name == "voice"


def test_a_late_or_repeated_status_report_changes_nothing(clinic):
    from telephony.services import call_status_report

    call = CallFactory(clinic=clinic, direction="outbound", status="initiated", phone_number=PHONE)
    for status in ("queued", "in-progress", "ringing", "in-progress", "completed", "no-answer"):
        call_status_report(call_id=call.id, provider_status=status)

    call.refresh_from_db()
    assert call.status == Call.Status.COMPLETED
    assert _provider_statuses(call) == ["queued", "in-progress", "completed"]


def test_a_callback_for_a_paused_agent_fails_without_dialling(client_for, clinic, local_voice,
                                                               django_capture_on_commit_callbacks):
    from telephony.agents import agent_for, agent_update

    agent_update(agent=agent_for(clinic), status="paused")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for.post("/api/calls", {"phone_number": PHONE}, format="json")

    call = Call.objects.get(pk=response.json()["id"])
    assert call.status == Call.Status.FAILED and not call.conversation_id
    assert AuditEvent.objects.filter(object_id=str(call.id), action="call.failed").exists()
    assert not AuditEvent.objects.filter(object_id=str(call.id), action="call.placed").exists()


def test_a_call_nobody_answered_still_counts_among_the_failed_calls_of_the_stats(client_for, clinic):
    CallFactory(clinic=clinic, direction="outbound", status="no_answer", call_successful="")
    CallFactory(clinic=clinic, direction="outbound", status="failed", call_successful="")
    CallFactory(clinic=clinic, direction="outbound", status="ringing", call_successful="")

    body = client_for.get("/api/analytics/stats", {"days": 7}).json()

    assert body["total_calls"] == 3 and body["failed_calls"] == 2
