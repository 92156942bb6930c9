"""Issue 13: with Redis down, queueing an SMS or starting a campaign still answers as documented, the work waits in
the database (telephony `Message.queued_at`, campaign `started_at`), and config/sweeper.py publishes it exactly
once when the broker is back. And a message handed to the provider is claimed first, so a redelivered task never
texts a patient twice."""
import base64
import datetime as dt
import json
import threading

import pytest
import redis
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.tests.factories import EngagementPatientFactory
from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import ProfessionalFactory, ServiceFactory
from telephony.models import Message
from telephony.services import DELIVERY_CLAIM_SECONDS
from telephony.tasks import send_sms_task
from telephony.tests.conftest import local_sms, messages_path, twilio_settings  # noqa: F401 - fixtures
from telephony.tests.test_services import twilio_message_json
from tests.test_health import redis_answers
from tests.test_recovery import celery_publishing_to, own_redis  # noqa: F401 - fixtures


def published(url):
    """Every task waiting in the broker's queues, as (task name, first argument)."""
    from config.celery import app

    client = redis.Redis.from_url(url)
    tasks = []
    for queue in app.amqp.queues:
        for raw in client.lrange(queue, 0, -1):
            envelope = json.loads(raw)
            args = json.loads(base64.b64decode(envelope["body"]))[0]
            tasks.append((envelope["headers"]["task"], args[0]))
    return sorted(tasks)


def age(model, pk, seconds=60):
    model.objects.filter(pk=pk).update(created_at=timezone.now() - dt.timedelta(seconds=seconds))


@pytest.mark.django_db
def test_with_redis_down_an_sms_and_a_campaign_are_accepted_and_published_once_when_it_is_back(  # noqa: F811
        clinic, client, make_client, own_redis, local_sms, django_capture_on_commit_callbacks):
    from config.sweeper import sweep_stuck_work

    url, start_redis_here = own_redis
    assert not redis_answers(url)
    clinic.booking_rules = {"quiet_hours": {"start": "00:00", "end": "00:00"}}
    clinic.save(update_fields=["booking_rules"])
    service = ServiceFactory(clinic=clinic, duration_minutes=30)
    ProfessionalFactory(clinic=clinic, services=[service], hours=[(day, "00:00", "23:45") for day in range(7)])
    EngagementPatientFactory(clinic=clinic, consents={"sms": True, "marketing": True})

    # The public booking page queues the confirmation SMS.
    with django_capture_on_commit_callbacks(execute=True):
        booked = client.post(f"/booking/{clinic.slug}", {
            "serviceId": str(service.pk), "startsAt": upcoming(clinic=clinic).isoformat(),
            "patient": {"name": "Rui Costa", "phone": "916555444", "email": ""}}, content_type="application/json")
    assert booked.status_code == 201, booked.content
    sms = Message.objects.for_clinic(clinic).get(purpose="booking_confirmation")
    assert sms.status == Message.Status.QUEUED and sms.queued_at is None

    # POST /v1/campaigns answers 201 and the campaign waits, not started.
    with django_capture_on_commit_callbacks(execute=True):
        created = make_client(clinic).post("/v1/campaigns", {"name": "Gripe", "message": "Olá {name}"},
                                           format="json")
    assert created.status_code == 201, created.content
    campaign = Campaign.objects.get(pk=created.json()["id"])
    assert campaign.status == Campaign.Status.SENDING and campaign.started_at is None
    assert created.json()["startedAt"] is None

    # The voice surface's WhatsApp template is sent in the request itself (no broker): 200, delivered.
    sent = make_client(clinic, header="x-api-key").post("/api/v1/whatsapp/template", {
        "to": "+351 912 345 678", "templateName": "lembrete", "body": "Olá {{1}}", "variables": {"1": "Maria"}},
        format="json")
    assert sent.status_code == 200, sent.content
    assert Message.objects.get(pk=sent.json()["data"]["messageId"]).status == Message.Status.DELIVERED

    # Nothing can be published while the broker is down: the sweep (run here by hand) leaves both waiting.
    age(Message, sms.pk)
    age(Campaign, campaign.pk)
    assert "messages" not in sweep_stuck_work()
    sms.refresh_from_db()
    assert sms.queued_at is None

    start_redis_here()
    assert published(url) == []
    first = sweep_stuck_work()
    assert first["messages"] == 1 and first["campaign_outbox"] == 1
    assert published(url) == sorted([("campaigns.send_campaign", str(campaign.pk)),
                                      ("telephony.send_sms", str(sms.pk))])
    sms.refresh_from_db()
    campaign.refresh_from_db()
    assert sms.queued_at is not None and campaign.started_at is not None

    # A later sweep publishes nothing more: exactly once.
    second = sweep_stuck_work()
    assert "messages" not in second and "campaign_outbox" not in second
    assert len(published(url)) == 2


@pytest.mark.django_db(transaction=True)
def test_the_claim_is_committed_before_twilio_is_called_and_a_redelivered_task_never_texts_twice(
        clinic, twilio_settings, httpserver, messages_path):  # noqa: F811 - fixtures
    message = Message.objects.create(clinic=clinic, to_phone="+351912345678", to_phone_index="x", body="Olá",
                                     status=Message.Status.QUEUED)
    seen_by_twilio = []

    def twilio(request):
        # Another connection (this server's thread) sees what the worker committed before calling the provider.
        def look():
            from django.db import connection

            seen_by_twilio.append(Message.objects.values_list("status", "attempted_at").get(pk=message.pk))
            connection.close()

        reader = threading.Thread(target=look)
        reader.start()
        reader.join()
        from werkzeug import Response

        return Response(json.dumps(twilio_message_json("+351912345678", "Olá")), status=201,
                        content_type="application/json")

    httpserver.expect_request(messages_path, method="POST").respond_with_handler(twilio)

    assert send_sms_task(str(message.pk)) == "sent"
    (status, attempted_at), = seen_by_twilio
    assert status == Message.Status.SENDING and attempted_at is not None
    assert send_sms_task(str(message.pk)) == "sent"  # the task delivered twice
    assert len(httpserver.log) == 1

    # A worker killed inside the provider call leaves the claim: a redelivery within the lease does nothing...
    killed = Message.objects.create(clinic=clinic, to_phone="+351912345679", to_phone_index="y", body="Olá",
                                    status=Message.Status.SENDING, provider="twilio",
                                    attempted_at=timezone.now())
    assert send_sms_task(str(killed.pk)) == "sending"
    # ...and one after the lease marks it failed for review instead of texting again.
    Message.objects.filter(pk=killed.pk).update(
        attempted_at=timezone.now() - dt.timedelta(seconds=DELIVERY_CLAIM_SECONDS + 1))
    assert send_sms_task(str(killed.pk)) == "failed"
    killed.refresh_from_db()
    from django.utils.translation import gettext  # the reason is stored in the language active when it was written

    assert killed.error == gettext("Delivery was interrupted while the provider was being called: it may have been "
                                   "sent. Check before sending it again.") and not killed.provider_message_id
    assert len(httpserver.log) == 1


@pytest.mark.django_db
def test_the_sweeper_marks_an_abandoned_claim_failed_for_review_and_leaves_a_live_one_alone(
        clinic, twilio_settings, httpserver, messages_path):  # noqa: F811 - fixtures
    from config.sweeper import sweep_stuck_work

    def claimed(phone, seconds_ago):
        return Message.objects.create(clinic=clinic, to_phone=phone, to_phone_index=phone, body="Olá",
                                      status=Message.Status.SENDING, provider="twilio",
                                      attempted_at=timezone.now() - dt.timedelta(seconds=seconds_ago))

    abandoned = claimed("+351912345670", DELIVERY_CLAIM_SECONDS + 5)
    live = claimed("+351912345671", 1)

    sweep_stuck_work()

    abandoned.refresh_from_db()
    live.refresh_from_db()
    assert abandoned.status == Message.Status.FAILED and abandoned.error and not abandoned.provider_message_id
    assert live.status == Message.Status.SENDING
    assert httpserver.log == []  # neither was handed to Twilio again


def test_the_sweeper_applies_a_delivery_report_whose_message_id_is_now_recorded_and_drops_stale_ones(clinic):
    from config.sweeper import sweep_stuck_work
    from telephony.models import EarlyDeliveryReport

    message = Message.objects.create(clinic=clinic, to_phone="+351912345672", to_phone_index="x", body="Olá",
                                     status=Message.Status.SENT, provider="twilio", provider_message_id="SM" + "8" * 32)
    EarlyDeliveryReport.objects.create(provider="twilio", provider_message_id=message.provider_message_id,
                                       provider_status="delivered")
    EarlyDeliveryReport.objects.create(provider="twilio", provider_message_id="SM" + "9" * 32,
                                       provider_status="delivered", received_at=timezone.now() - dt.timedelta(days=8))

    assert sweep_stuck_work().get("delivery_reports") == 1

    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED and message.delivered_at is not None
    assert not EarlyDeliveryReport.objects.exists()  # the applied one, and the one nobody claimed in a week
