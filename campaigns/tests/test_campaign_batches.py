"""Campaign batches: sized by the minute's allowance, a few queries per batch rather than per message, and a
patient queued at most once however often a batch runs."""
import datetime as dt

import pytest
from django.utils import timezone

from campaigns import bulk
from campaigns.models import Campaign, CampaignRecipient
from campaigns.tasks import send_campaign
from scheduling.models import Patient
from telephony.models import Message

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
