"""Bulk SMS campaigns: audience preview, consent, sending in batches at most once, cancel, and the API edges."""
import datetime as dt

import pytest
from django.utils import timezone

from campaigns import bulk
from campaigns.models import Campaign, CampaignRecipient
from campaigns.tasks import send_campaign
from telephony.models import Message

from .factories import AppointmentFactory, EngagementPatientFactory, EngagementProfessionalFactory

pytestmark = pytest.mark.django_db

MARKETING = {"sms": True, "marketing": True}
# 14:00 UTC is outside the default quiet hours (21:00-09:00) in Lisbon.
AFTERNOON = timezone.now().replace(hour=14, minute=0, second=0, microsecond=0)


@pytest.fixture
def daytime(clinic):
    """Campaign sends wait out the clinic's quiet hours; this clinic has none, so tests run at any hour."""
    clinic.booking_rules = {"quiet_hours": {"start": "00:00", "end": "00:00"}}
    clinic.save(update_fields=["booking_rules"])


def patient(clinic, **kwargs):
    kwargs.setdefault("consents", MARKETING)
    return EngagementPatientFactory(clinic=clinic, **kwargs)


def campaign_outbox(campaign):
    return Message.objects.filter(clinic=campaign.clinic, purpose__startswith="campaign:")


# --- segments -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, encoding, segments", [
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("€" * 80, "GSM-7", 1),  # an extension character counts twice
    ("€" * 81, "GSM-7", 2),
    ("ã" * 70, "UCS-2", 1),
    ("ã" * 71, "UCS-2", 2),
    ("ã" * 134, "UCS-2", 2),
    ("ã" * 135, "UCS-2", 3),
])
def test_segments_follow_gsm7_and_ucs2_limits(text, encoding, segments):
    counted = bulk.count_segments(text)
    assert (counted.encoding, counted.count) == (encoding, segments)


# --- preview ------------------------------------------------------------------------------------------------------

def test_preview_counts_targets_and_exclusions_by_reason(client_for, clinic):
    for _index in range(3):
        patient(clinic, tags=["diabetes"])
    patient(clinic, tags=["diabetes"], consents={"sms": False, "marketing": True})
    patient(clinic, tags=["diabetes"], consents={"sms": True})
    patient(clinic, tags=["diabetes"], phone="")
    patient(clinic, tags=["other"])

    response = client_for.post("/v1/campaigns/preview", {"message": "Ola {name}, vacina da gripe ja disponivel.",
                                                         "audience": {"tags": ["diabetes"]}}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["matched"] == 6 and body["targets"] == 3
    assert body["excluded"] == {"noPhone": 1, "smsRefused": 1, "noMarketingConsent": 1}
    assert body["segments"] == {"encoding": "GSM-7", "perMessage": 1, "total": 3}
    assert body["estimatedCost"] == {"amount": 3 * bulk.DEFAULT_SEGMENT_PRICE_MINOR, "currency": "EUR"}


def test_preview_counts_ucs2_segments_for_text_outside_gsm7(client_for, clinic):
    patient(clinic)
    # "á" is not in the GSM-7 alphabet (only "à" is), so the whole message goes as UCS-2.
    response = client_for.post("/v1/campaigns/preview", {"message": "Olá " + "a" * 80}, format="json")
    assert response.json()["segments"] == {"encoding": "UCS-2", "perMessage": 2, "total": 2}


def test_preview_filters_by_last_visit_professional_service_and_future_appointment(client_for, clinic):
    now = timezone.now()
    professional = EngagementProfessionalFactory(clinic=clinic)
    old = AppointmentFactory(clinic=clinic, patient=patient(clinic), professional=professional,
                             starts_at=now - dt.timedelta(days=400), status="completed")
    recent = AppointmentFactory(clinic=clinic, patient=patient(clinic), starts_at=now - dt.timedelta(days=10),
                                status="completed")
    upcoming = AppointmentFactory(clinic=clinic, patient=patient(clinic), starts_at=now + dt.timedelta(days=5))
    patient(clinic)  # never came

    def targets(audience):
        response = client_for.post("/v1/campaigns/preview", {"message": "Olá", "audience": audience}, format="json")
        assert response.status_code == 200, response.content
        return response.json()["targets"]

    a_year_ago = (now - dt.timedelta(days=365)).isoformat()
    assert targets({"lastVisitBefore": a_year_ago}) == 1
    assert targets({"lastVisitAfter": a_year_ago}) == 1
    assert targets({"professionalId": str(old.professional_id)}) == 1
    assert targets({"serviceId": str(recent.service_id)}) == 1
    assert targets({"hasFutureAppointment": True}) == 1
    assert targets({"hasFutureAppointment": False}) == 3
    assert targets({}) == 4
    assert upcoming.patient.campaign_recipients.count() == 0


def test_preview_rejects_bad_bodies_with_the_v1_error(client_for, clinic, other_clinic):
    foreign_professional = EngagementProfessionalFactory(clinic=other_clinic)
    for body, field in [
        ({}, "message"),
        ({"message": "   "}, "message"),
        ({"message": "Olá {nome}"}, "message"),
        ({"message": "Olá", "audience": {"tags": "vip"}}, "audience"),
        ({"message": "Olá", "audience": {"lastVisitBefore": "yesterday"}}, "audience"),
        ({"message": "Olá", "audience": {"professionalId": str(foreign_professional.pk)}}, "audience"),
    ]:
        response = client_for.post("/v1/campaigns/preview", body, format="json")
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and field in error["details"], (body, error)


# --- create and send ----------------------------------------------------------------------------------------------

def test_creating_a_campaign_sends_one_personalised_sms_per_consenting_patient(
        client_for, clinic, daytime, django_capture_on_commit_callbacks):
    maria = patient(clinic, name="Maria Silva")
    joao = patient(clinic, name="João Sousa")
    patient(clinic, consents={"sms": True, "marketing": False})

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for.post("/v1/campaigns", {
            "name": "Gripe 2026", "message": "Olá {name}, a {clinic} já tem a vacina da gripe."}, format="json")

    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "sending" and created["counts"]["total"] == 2
    campaign = Campaign.objects.get(pk=created["id"])
    outbox = campaign_outbox(campaign)
    assert sorted(message.body for message in outbox) == sorted(
        f"Olá {first}, a {clinic.name} já tem a vacina da gripe." for first in ("Maria", "João"))
    assert {message.to_phone for message in outbox} == {maria.phone, joao.phone}
    assert all(message.status == Message.Status.DELIVERED for message in outbox)

    detail = client_for.get(f"/v1/campaigns/{campaign.pk}").json()
    assert detail["status"] == "completed"
    assert detail["counts"] == {"total": 2, "sent": 2, "failed": 0, "pending": 0, "cancelled": 0}


def test_running_the_send_task_twice_sends_one_message_per_patient(clinic, daytime):
    for _index in range(3):
        patient(clinic)
    campaign = bulk.campaign_send(clinic=clinic, name="Check-up", message="Olá {name}", audience=bulk.Audience())

    send_campaign.delay(str(campaign.id))
    send_campaign.delay(str(campaign.id))
    # A worker restarted with the same task id in hand runs the service itself again.
    bulk.campaign_batch_send(campaign_id=campaign.id)

    assert campaign_outbox(campaign).count() == 3
    assert CampaignRecipient.objects.filter(campaign=campaign, status="sent").count() == 3


def test_a_claim_left_by_a_crashed_worker_is_never_sent_again(clinic, daytime):
    patient(clinic)
    campaign = bulk.campaign_send(clinic=clinic, name="Check-up", message="Olá", audience=bulk.Audience())
    CampaignRecipient.objects.filter(campaign=campaign).update(status=CampaignRecipient.Status.SENDING)

    send_campaign.delay(str(campaign.id))

    assert campaign_outbox(campaign).count() == 0


def test_cancel_mid_way_stops_the_remaining_recipients(client_for, clinic, daytime):
    for _index in range(5):
        patient(clinic)
    campaign = bulk.campaign_send(clinic=clinic, name="Check-up", message="Olá {name}", audience=bulk.Audience())

    first = bulk.campaign_batch_send(campaign_id=campaign.id, batch_size=2)
    assert (first.sent, first.remaining) == (2, 3)
    response = client_for.post(f"/v1/campaigns/{campaign.pk}/cancel")
    send_campaign.delay(str(campaign.id))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert campaign_outbox(campaign).count() == 2
    counts = client_for.get(f"/v1/campaigns/{campaign.pk}").json()["counts"]
    assert counts == {"total": 5, "sent": 2, "failed": 0, "pending": 0, "cancelled": 3}


def test_cancelling_a_completed_campaign_is_a_conflict(client_for, clinic, daytime):
    patient(clinic)
    campaign = bulk.campaign_send(clinic=clinic, name="Check-up", message="Olá", audience=bulk.Audience())
    send_campaign.delay(str(campaign.id))

    response = client_for.post(f"/v1/campaigns/{campaign.pk}/cancel")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CAMPAIGN_NOT_CANCELLABLE"


def test_nothing_is_sent_in_the_clinics_quiet_hours(clinic):
    patient(clinic)
    campaign = bulk.campaign_send(clinic=clinic, name="Check-up", message="Olá", audience=bulk.Audience())
    night = timezone.now().replace(hour=23, minute=30, second=0, microsecond=0)  # 23:30 UTC is night in Lisbon

    result = bulk.campaign_batch_send(campaign_id=campaign.id, now=night)

    assert (result.sent, result.remaining, result.deferred) == (0, 1, "quiet_hours")
    assert campaign_outbox(campaign).count() == 0


def test_the_clinics_send_rate_caps_a_minute(clinic):
    clinic.booking_rules = {"campaign_sms_per_minute": 2}
    clinic.save()
    for _index in range(3):
        patient(clinic)
    campaign = bulk.campaign_send(clinic=clinic, name="Check-up", message="Olá", audience=bulk.Audience())

    first = bulk.campaign_batch_send(campaign_id=campaign.id, now=AFTERNOON)
    second = bulk.campaign_batch_send(campaign_id=campaign.id, now=AFTERNOON)
    third = bulk.campaign_batch_send(campaign_id=campaign.id, now=AFTERNOON + dt.timedelta(minutes=1))

    assert (first.sent, second.sent, second.deferred, third.sent) == (2, 0, "rate_limit", 1)
    assert Campaign.objects.get(pk=campaign.pk).status == "completed"


def test_a_shorter_rate_window_renews_the_allowance_at_its_own_end(clinic, settings):
    settings.CAMPAIGN_RATE_WINDOW_SECONDS = 20  # what the recovery test gives its workers
    clinic.booking_rules = {"campaign_sms_per_minute": 2}
    clinic.save()
    for _index in range(3):
        patient(clinic)
    campaign = bulk.campaign_send(clinic=clinic, name="Check-up", message="Olá", audience=bulk.Audience())

    first = bulk.campaign_batch_send(campaign_id=campaign.id, now=AFTERNOON + dt.timedelta(seconds=5))
    second = bulk.campaign_batch_send(campaign_id=campaign.id, now=AFTERNOON + dt.timedelta(seconds=15))
    third = bulk.campaign_batch_send(campaign_id=campaign.id, now=AFTERNOON + dt.timedelta(seconds=20))

    assert (first.sent, second.sent, second.deferred, second.retry_in, third.sent) == (2, 0, "rate_limit", 5, 1)


def test_campaign_without_targets_completes_at_once(client_for, clinic):
    response = client_for.post("/v1/campaigns", {"name": "Vazia", "message": "Olá"}, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "completed" and response.json()["counts"]["total"] == 0


def test_create_rejects_bad_bodies_with_the_v1_error(client_for):
    for body, field in [({"message": "Olá"}, "name"), ({"name": "x"}, "message"),
                        ({"name": "x", "message": "Olá", "audience": {"hasFutureAppointment": "maybe"}}, "audience")]:
        response = client_for.post("/v1/campaigns", body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["error"]["details"]
    assert Campaign.objects.count() == 0


def test_a_read_only_key_cannot_create_a_campaign(make_client, clinic):
    response = make_client(clinic, permissions=("read",)).post(
        "/v1/campaigns", {"name": "x", "message": "Olá"}, format="json")
    assert response.status_code == 403


# --- listing and tenancy ------------------------------------------------------------------------------------------

def test_list_pages_newest_first_with_cursor(client_for, clinic, django_assert_max_num_queries):
    for index in range(3):
        Campaign.objects.create(clinic=clinic, name=f"C{index}", message="Olá",
                                created_at=timezone.now() - dt.timedelta(hours=3 - index))
    with django_assert_max_num_queries(6):
        first = client_for.get("/v1/campaigns?limit=2").json()
    assert [item["name"] for item in first["items"]] == ["C2", "C1"] and first["hasMore"] is True
    second = client_for.get(f"/v1/campaigns?limit=2&cursor={first['nextCursor']}").json()
    assert [item["name"] for item in second["items"]] == ["C0"] and second["hasMore"] is False


def test_voice_surface_lists_campaigns_in_its_envelope(client_for, clinic):
    Campaign.objects.create(clinic=clinic, name="Gripe", message="Olá", status=Campaign.Status.COMPLETED)
    response = client_for.get("/api/v1/campaigns?per_page=10")
    body = response.json()
    assert response.status_code == 200 and body["success"] is True
    assert [item["name"] for item in body["data"]] == ["Gripe"]
    assert body["meta"] == {"total": 1, "page": 1, "per_page": 10}
    bad = client_for.get("/api/v1/campaigns?status=nope")
    assert bad.status_code == 400 and bad.json()["success"] is False


def test_v1_lists_filter_by_status_and_a_create_ignores_the_filter(client_for, clinic, other_clinic):
    Campaign.objects.create(clinic=clinic, name="Enviada", message="Olá", status=Campaign.Status.COMPLETED)
    Campaign.objects.create(clinic=clinic, name="Anulada", message="Olá", status=Campaign.Status.CANCELLED)
    Campaign.objects.create(clinic=other_clinic, name="Alheia", message="Olá", status=Campaign.Status.COMPLETED)
    assert [item["name"] for item in client_for.get("/v1/campaigns?status=completed").json()["items"]] == ["Enviada"]
    bad = client_for.get("/v1/campaigns?status=nope")
    assert bad.status_code == 400 and list(bad.json()["error"]["details"]) == ["status"]
    created = client_for.post("/v1/campaigns?status=cancelled", {"name": "Nova", "message": "Olá"}, format="json")
    assert created.status_code == 201 and created.json()["name"] == "Nova"


def test_voice_surface_filters_campaigns_by_status_with_the_consoles_filterset(client_for, clinic, other_clinic):
    Campaign.objects.create(clinic=clinic, name="Enviada", message="Olá", status=Campaign.Status.COMPLETED)
    Campaign.objects.create(clinic=clinic, name="Anulada", message="Olá", status=Campaign.Status.CANCELLED)
    Campaign.objects.create(clinic=other_clinic, name="Alheia", message="Olá", status=Campaign.Status.COMPLETED)
    body = client_for.get("/api/v1/campaigns?status=completed").json()
    assert [item["name"] for item in body["data"]] == ["Enviada"]
    bad = client_for.get("/api/v1/campaigns?status=nope").json()
    assert all(value in str(bad) for value in Campaign.Status.values)


def test_another_clinics_campaign_is_404(foreign_client, clinic):
    campaign = Campaign.objects.create(clinic=clinic, name="Gripe", message="Olá", status=Campaign.Status.SENDING)
    assert foreign_client.get(f"/v1/campaigns/{campaign.pk}").status_code == 404
    response = foreign_client.post(f"/v1/campaigns/{campaign.pk}/cancel")
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"
    assert Campaign.objects.get(pk=campaign.pk).status == "sending"
    assert foreign_client.get("/v1/campaigns").json()["items"] == []
    assert foreign_client.get("/api/v1/campaigns").json()["data"] == []


def test_campaigns_sending_side_by_side_share_the_clinics_rate(clinic):
    clinic.booking_rules = {"campaign_sms_per_minute": 3}
    clinic.save()
    patient(clinic)
    patient(clinic)
    first = bulk.campaign_send(clinic=clinic, name="A", message="Ola", audience=bulk.Audience())
    second = bulk.campaign_send(clinic=clinic, name="B", message="Ola", audience=bulk.Audience())

    sent_first = bulk.campaign_batch_send(campaign_id=first.id, now=AFTERNOON)
    sent_second = bulk.campaign_batch_send(campaign_id=second.id, now=AFTERNOON)

    assert (sent_first.sent, sent_second.sent, sent_second.remaining) == (2, 1, 1)
    assert Message.objects.filter(clinic=clinic).count() == 3
