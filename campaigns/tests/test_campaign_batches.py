"""Campaign batches: sized by the minute's allowance, a few queries per batch rather than per message, handed to
the provider in the batch, and a patient texted at most once however often, and however concurrently, a batch
runs."""
import datetime as dt

import pytest
from django.utils import timezone

from campaigns import bulk
from campaigns.models import Campaign, CampaignRecipient
from campaigns.tasks import send_campaign
from scheduling.models import Patient
from telephony.models import Message
from telephony.tests.conftest import messages_path, twilio_settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

MARKETING = {"sms": True, "marketing": True}
# 14:00:00 UTC: outside the default quiet hours (21:00-09:00) in Lisbon, at the start of a minute.
AFTERNOON = timezone.now().replace(hour=14, minute=0, second=0, microsecond=0)


def patients(clinic, count: int) -> list[Patient]:
    rows = []
    for n in range(count):
        row = Patient(clinic=clinic, name=f"Maria {n}", phone=f"+3519120{n:05d}", consents=MARKETING)
        row.refresh_indexes()
        rows.append(row)
    return Patient.objects.bulk_create(rows)


def allow(clinic, per_minute: int) -> None:
    clinic.booking_rules = {"campaign_sms_per_minute": per_minute}
    clinic.save(update_fields=["booking_rules"])


def start(clinic) -> Campaign:
    return bulk.campaign_send(clinic=clinic, name="Gripe", message="Olá {name}, a {clinic} tem a vacina.",
                              audience=bulk.Audience())


def outbox(campaign):
    return Message.objects.for_clinic(campaign.clinic).filter(purpose__startswith="campaign:")


def test_a_batch_of_50_is_sent_in_at_most_one_and_a_half_queries_per_message(clinic, django_assert_max_num_queries):
    allow(clinic, 1000)
    patients(clinic, 50)
    campaign = start(clinic)

    with django_assert_max_num_queries(75):
        result = bulk.campaign_batch_send(campaign_id=campaign.id, batch_size=50, now=AFTERNOON)

    assert (result.sent, result.failed, result.remaining) == (50, 0, 0)
    assert outbox(campaign).count() == 50
    # Handed to the (local) provider in the batch itself: no send_sms task per message.
    assert set(outbox(campaign).values_list("status", flat=True)) == {Message.Status.DELIVERED}
    assert all(outbox(campaign).values_list("provider_message_id", flat=True))
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED
    recipient = CampaignRecipient.objects.filter(campaign=campaign).first()
    message = Message.objects.get(pk=recipient.message_id)
    assert recipient.status == "sent" and message.purpose == recipient.message_purpose
    assert message.body == f"Olá Maria, a {clinic.name} tem a vacina."


def test_the_queries_of_a_batch_do_not_grow_with_its_size(clinic):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    allow(clinic, 1000)
    patients(clinic, 260)
    campaign = start(clinic)

    with CaptureQueriesContext(connection) as small:
        bulk.campaign_batch_send(campaign_id=campaign.id, batch_size=10, now=AFTERNOON)
    with CaptureQueriesContext(connection) as large:
        bulk.campaign_batch_send(campaign_id=campaign.id, batch_size=200, now=AFTERNOON)

    assert len(large.captured_queries) == len(small.captured_queries) <= 15
    assert outbox(campaign).filter(status=Message.Status.DELIVERED).count() == 210


def test_a_1000_per_minute_allowance_sends_1000_in_the_first_minute(clinic):
    allow(clinic, 1000)
    patients(clinic, 1100)
    campaign = start(clinic)

    batches = []
    while True:
        result = bulk.campaign_batch_send(campaign_id=campaign.id, now=AFTERNOON + dt.timedelta(seconds=len(batches)))
        batches.append(result)
        if result.deferred or not result.remaining:
            break

    assert [batch.sent for batch in batches] == [500, 500, 0]
    assert (batches[-1].deferred, batches[-1].retry_in, batches[-1].remaining) == ("rate_limit", 58, 100)
    assert outbox(campaign).count() == 1000

    next_minute = bulk.campaign_batch_send(campaign_id=campaign.id, now=AFTERNOON + dt.timedelta(minutes=1))
    assert (next_minute.sent, next_minute.remaining) == (100, 0)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED


def test_a_batch_that_spends_the_allowance_waits_for_the_next_minute_not_a_fixed_60_seconds(clinic):
    allow(clinic, 30)
    patients(clinic, 40)
    campaign = start(clinic)

    result = bulk.campaign_batch_send(campaign_id=campaign.id, now=AFTERNOON + dt.timedelta(seconds=45))

    assert (result.sent, result.deferred, result.retry_in) == (30, "rate_limit", 15)


def test_the_provider_rate_caps_every_clinic_together(clinic, other_clinic, settings):
    settings.SMS_PROVIDER_PER_MINUTE = 5
    for each in (clinic, other_clinic):
        allow(each, 1000)
        patients(each, 4)
    first, second = start(clinic), start(other_clinic)

    sent_first = bulk.campaign_batch_send(campaign_id=first.id, now=AFTERNOON)
    sent_second = bulk.campaign_batch_send(campaign_id=second.id, now=AFTERNOON)

    assert (sent_first.sent, sent_second.sent, sent_second.deferred) == (4, 1, "rate_limit")


def test_running_a_batch_twice_never_queues_a_patient_twice(clinic):
    allow(clinic, 1000)
    patients(clinic, 30)
    campaign = start(clinic)

    first = bulk.campaign_batch_send(campaign_id=campaign.id, batch_size=20, now=AFTERNOON)
    again = bulk.campaign_batch_send(campaign_id=campaign.id, batch_size=20, now=AFTERNOON)
    send_campaign.delay(str(campaign.id))
    send_campaign.delay(str(campaign.id))

    assert (first.sent, again.sent) == (20, 10)
    assert outbox(campaign).count() == 30
    assert len(set(outbox(campaign).values_list("to_phone_index", flat=True))) == 30
    assert CampaignRecipient.objects.filter(campaign=campaign, status="sent").count() == 30


def test_the_task_delivers_the_queued_messages_once_the_batch_commits(clinic, django_capture_on_commit_callbacks):
    allow(clinic, 1000)
    patients(clinic, 3)
    campaign = start(clinic)

    with django_capture_on_commit_callbacks(execute=True):
        bulk.campaign_batch_send(campaign_id=campaign.id, now=AFTERNOON)

    assert set(outbox(campaign).values_list("status", flat=True)) == {Message.Status.DELIVERED}


def test_a_patient_whose_phone_is_no_longer_valid_fails_alone(clinic):
    allow(clinic, 1000)
    broken, *others = patients(clinic, 3)
    campaign = start(clinic)
    Patient.objects.filter(pk=broken.pk).update(phone="12")

    result = bulk.campaign_batch_send(campaign_id=campaign.id, now=AFTERNOON)

    assert (result.sent, result.failed) == (2, 1)
    failed = CampaignRecipient.objects.get(campaign=campaign, patient=broken)
    assert failed.status == "failed" and failed.error and failed.message_id is None
    assert outbox(campaign).count() == 2


def test_the_twilio_backend_gets_one_call_per_message_and_a_refusal_fails_that_recipient_alone(
        clinic, twilio_settings, httpserver, messages_path):
    import json
    import uuid

    from werkzeug import Response

    from telephony.tests.test_services import twilio_message_json

    allow(clinic, 1000)
    refused, *others = patients(clinic, 12)

    def twilio(request):
        to, body = request.form["To"], request.form["Body"]
        if to == refused.phone:
            return Response(json.dumps({"code": 21610, "message": f"Attempt to send to unsubscribed recipient {to}",
                                        "status": 400}), status=400, content_type="application/json")
        sid = "SM" + uuid.uuid4().hex
        return Response(json.dumps(twilio_message_json(to, body, sid=sid)), status=201,
                        content_type="application/json")

    httpserver.expect_request(messages_path, method="POST").respond_with_handler(twilio)
    campaign = start(clinic)

    result = bulk.campaign_batch_send(campaign_id=campaign.id, now=AFTERNOON)

    assert (result.sent, result.failed, result.remaining) == (11, 1, 0)
    assert len(httpserver.log) == 12
    assert sorted(request.form["To"] for request, _response in httpserver.log) == sorted(
        patient.phone for patient in [refused, *others])
    sent = outbox(campaign).filter(status=Message.Status.SENT)
    assert sent.count() == 11 and len(set(sent.values_list("provider_message_id", flat=True))) == 11
    failed = CampaignRecipient.objects.get(campaign=campaign, patient=refused)
    message = Message.objects.get(pk=failed.message_id)
    assert failed.status == "failed" and message.status == Message.Status.FAILED
    # The provider's reason is kept without the number it quotes.
    assert "unsubscribed" in failed.error and refused.phone not in failed.error + message.error


def sending_campaign(clinic, count: int) -> Campaign:
    """A campaign already stored with its pending recipients (campaign_send would start it at once here: a
    transactional test runs its on-commit hook, and Celery is eager in tests)."""
    campaign = Campaign.objects.create(clinic=clinic, name="Gripe", message="Olá {name}",
                                       status=Campaign.Status.SENDING, started_at=timezone.now())
    CampaignRecipient.objects.bulk_create([CampaignRecipient(clinic=clinic, campaign=campaign, patient=patient)
                                           for patient in patients(clinic, count)])
    return campaign


def one_message_per_recipient(campaign) -> None:
    purposes = list(outbox(campaign).values_list("purpose", flat=True))
    recipients = CampaignRecipient.objects.filter(campaign=campaign)
    assert sorted(purposes) == sorted(row.message_purpose for row in recipients)
    assert set(recipients.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db(transaction=True)
def test_a_batch_skips_the_recipients_another_claimer_holds_instead_of_waiting_or_taking_them(clinic):
    import threading

    from django.db import connection, transaction

    allow(clinic, 1000)
    campaign = sending_campaign(clinic, 30)
    held, release = threading.Event(), threading.Event()
    held_ids = []

    def other_claimer():
        try:
            with transaction.atomic():
                rows = CampaignRecipient.objects.select_for_update().filter(campaign=campaign).order_by(
                    "created_at", "id")[:10]
                held_ids.extend(row.pk for row in rows)
                held.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_claimer)
    thread.start()
    try:
        assert held.wait(30)
        first = bulk.campaign_batch_send(campaign_id=campaign.id, batch_size=30, now=AFTERNOON)
    finally:
        release.set()
        thread.join()

    assert (first.sent, first.remaining) == (20, 10)
    assert set(CampaignRecipient.objects.filter(campaign=campaign, status="pending").values_list(
        "pk", flat=True)) == set(held_ids)
    second = bulk.campaign_batch_send(campaign_id=campaign.id, batch_size=30, now=AFTERNOON)
    assert (second.sent, second.remaining) == (10, 0)
    one_message_per_recipient(campaign)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claimers_send_each_recipient_exactly_once(clinic):
    import threading

    from django.db import connection

    allow(clinic, 100_000)
    campaign = sending_campaign(clinic, 150)
    start_together = threading.Barrier(2)
    sent_by = {}

    def claimer(name):
        try:
            start_together.wait(30)
            total = 0
            while True:
                result = bulk.campaign_batch_send(campaign_id=campaign.id, batch_size=7, now=AFTERNOON)
                total += result.sent + result.failed
                if not result.remaining:
                    break
            sent_by[name] = total
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert sent_by["a"] + sent_by["b"] == 150
    one_message_per_recipient(campaign)
    assert outbox(campaign).filter(status=Message.Status.DELIVERED).count() == 150
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED


def test_messages_the_batch_had_no_time_to_hand_over_go_back_to_the_outbox_unsent(
        clinic, twilio_settings, httpserver, monkeypatch):
    from telephony import services as telephony_services

    allow(clinic, 1000)
    patients(clinic, 3)
    campaign = start(clinic)
    # The claims are as old as the hand-over allows: nothing may be sent any more.
    monkeypatch.setattr(telephony_services, "HAND_OVER_SECONDS", 0)

    result = bulk.campaign_batch_send(campaign_id=campaign.id, now=AFTERNOON)

    assert httpserver.log == []
    assert (result.sent, result.remaining) == (3, 0)  # in the outbox: the send_sms task delivers them
    queued = outbox(campaign)
    assert queued.count() == 3
    assert set(queued.values_list("status", "queued_at", "attempted_at")) == {(Message.Status.QUEUED, None, None)}
