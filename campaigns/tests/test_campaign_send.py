"""`campaign_send` is the one use case behind POST /v1/campaigns and the console: it stores the campaign, queues the
Celery task and returns; the SMS leave from the task. A refused campaign leaves nothing behind."""
import pytest
from django.urls import reverse

from campaigns import bulk
from campaigns.models import Campaign, CampaignRecipient
from clinics.errors import InvalidInput, NotFound
from clinics.models import AuditEvent, Membership
from clinics.tests.factories import MembershipFactory
from telephony.models import Message

from .factories import EngagementPatientFactory, EngagementProfessionalFactory
from .test_console import signed_in

pytestmark = pytest.mark.django_db

MARKETING = {"sms": True, "marketing": True}


@pytest.fixture
def daytime(clinic):
    clinic.booking_rules = {"quiet_hours": {"start": "00:00", "end": "00:00"}}
    clinic.save(update_fields=["booking_rules"])


def test_creating_a_campaign_answers_before_any_sms_and_the_task_sends_them(
        client_for, clinic, daytime, django_capture_on_commit_callbacks):
    for _index in range(2):
        EngagementPatientFactory(clinic=clinic, consents=MARKETING)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client_for.post("/v1/campaigns", {"name": "Gripe", "message": "Olá {name}"}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["counts"] == {"total": 2, "sent": 0, "failed": 0, "pending": 2, "cancelled": 0}
    assert not Message.objects.exists()
    assert len(queued) == 1  # the task, queued once the campaign is committed

    for callback in queued:
        callback()

    campaign = Campaign.objects.get(pk=response.json()["id"])
    assert campaign.status == Campaign.Status.COMPLETED
    assert Message.objects.for_clinic(clinic).filter(purpose__startswith="campaign:").count() == 2


def test_the_console_queues_the_same_use_case(client, clinic, daytime, django_capture_on_commit_callbacks):
    editor = signed_in(client, MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR))
    EngagementPatientFactory(clinic=clinic, consents=MARKETING)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = editor.post(reverse("campaigns:bulk_list"), {"action": "send", "confirmed_targets": "1",
                                                               "name": "Gripe", "message": "Olá {name}"})

    assert response.status_code == 302
    assert not Message.objects.exists() and len(queued) == 1
    assert AuditEvent.objects.filter(action="campaign.created").count() == 1


@pytest.mark.parametrize("body", [
    {"name": "Gripe", "message": "x" * (bulk.MAX_MESSAGE_LENGTH + 1)},
    {"name": "x" * (bulk.MAX_NAME_LENGTH + 1), "message": "Olá"},
    {"name": "Gripe", "message": "Olá", "audience": {"tags": [f"t{n}" for n in range(bulk.MAX_AUDIENCE_TAGS + 1)]}},
    {"name": "Gripe", "message": "Olá", "audience": {"lastVisitBefore": "not a date"}},
])
def test_refused_campaign_leaves_no_campaign_and_no_audit_row(client_for, clinic, body):
    EngagementPatientFactory(clinic=clinic, consents=MARKETING)

    response = client_for.post("/v1/campaigns", body, format="json")

    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not Campaign.objects.exists() and not CampaignRecipient.objects.exists()
    assert not AuditEvent.objects.filter(action="campaign.created").exists()


def test_campaign_naming_another_clinics_professional_is_refused_by_the_service(clinic, other_clinic):
    EngagementPatientFactory(clinic=clinic, consents=MARKETING)
    theirs = EngagementProfessionalFactory(clinic=other_clinic)

    with pytest.raises(InvalidInput) as refused:
        bulk.campaign_send(clinic=clinic, name="Gripe", message="Olá",
                           audience=bulk.Audience(professional_id=theirs.id))

    assert refused.value.details == {"audience": {"professionalId": ["No such professional."]}}
    assert not Campaign.objects.exists()
    assert not AuditEvent.objects.filter(action="campaign.created").exists()


def test_cancel_service_refuses_another_clinics_campaign(clinic, other_clinic):
    campaign = Campaign.objects.create(clinic=other_clinic, name="Alheia", message="Olá",
                                       status=Campaign.Status.SENDING)

    with pytest.raises(NotFound):
        bulk.campaign_cancel(clinic=clinic, campaign=campaign)

    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING


def test_another_clinics_campaign_is_404_in_console_detail_and_cancel(client, clinic, other_clinic):
    editor = signed_in(client, MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN))
    campaign = Campaign.objects.create(clinic=other_clinic, name="Alheia", message="Olá",
                                       status=Campaign.Status.SENDING)

    assert editor.get(reverse("campaigns:bulk_detail", args=[campaign.id])).status_code == 404
    assert editor.post(reverse("campaigns:bulk_cancel", args=[campaign.id])).status_code == 404
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING


def test_a_campaign_says_why_it_sends_nothing_in_the_api_and_the_console(client_for, client, clinic):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    local = timezone.now().astimezone(ZoneInfo(clinic.timezone))
    start, end = local - dt.timedelta(hours=1), local + dt.timedelta(hours=1)
    clinic.booking_rules = {"quiet_hours": {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}}
    clinic.save(update_fields=["booking_rules"])
    for _index in range(2):
        EngagementPatientFactory(clinic=clinic, consents=MARKETING)
    campaign = bulk.campaign_send(clinic=clinic, name="Gripe", message="Olá {name}", audience=bulk.Audience())

    # Stored while the broker did not take it yet: the outbox starts it.
    assert client_for.get(f"/v1/campaigns/{campaign.id}").json()["waiting"] == {"reason": "notStarted",
                                                                                 "until": None}

    Campaign.objects.filter(pk=campaign.pk).update(started_at=timezone.now())
    assert bulk.campaign_batch_send(campaign_id=campaign.id).deferred == "quiet_hours"
    waiting = client_for.get(f"/v1/campaigns/{campaign.id}").json()["waiting"]
    assert waiting["reason"] == "quietHours"
    assert dt.datetime.fromisoformat(waiting["until"]) == end.replace(second=0, microsecond=0)
    editor = signed_in(client, MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR))
    assert 'id="waiting"' in editor.get(reverse("campaigns:bulk_detail", args=[campaign.id])).content.decode()

    clinic.booking_rules = {"quiet_hours": {"start": "00:00", "end": "00:00"}}
    clinic.save(update_fields=["booking_rules"])
    bulk.campaign_batch_send(campaign_id=campaign.id)
    assert client_for.get(f"/v1/campaigns/{campaign.id}").json()["waiting"] is None
    assert 'id="waiting"' not in editor.get(reverse("campaigns:bulk_detail", args=[campaign.id])).content.decode()
