"""Console pages of bulk SMS campaigns: list, preview then send, detail with counts, cancel; roles and tenancy."""
import pytest
from django.urls import reverse

from campaigns import bulk
from campaigns.models import Campaign
from clinics.models import Membership
from clinics.tests.factories import MembershipFactory

from .factories import EngagementPatientFactory
from .test_console import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client, clinic):
    clinic.booking_rules = {"quiet_hours": {"start": "00:00", "end": "00:00"}}
    clinic.save(update_fields=["booking_rules"])
    return signed_in(client, MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR))


def consenting(clinic, **kwargs):
    return EngagementPatientFactory(clinic=clinic, consents={"sms": True, "marketing": True}, **kwargs)


def test_preview_shows_targets_and_exclusions_without_sending(editor, clinic):
    consenting(clinic, tags=["vip"])
    EngagementPatientFactory(clinic=clinic, tags=["vip"], consents={"sms": True})

    response = editor.post(reverse("campaigns:bulk_list"), {"action": "preview", "name": "VIP", "tags": "vip",
                                                           "message": "Ola {name}"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "1 patient will receive it" in html and "2 matched" in html and "no marketing consent 1" in html
    assert Campaign.objects.count() == 0


def test_create_sends_and_detail_shows_counts(editor, clinic, django_capture_on_commit_callbacks):
    consenting(clinic)
    consenting(clinic)

    with django_capture_on_commit_callbacks(execute=True):
        response = editor.post(reverse("campaigns:bulk_list"), {"action": "send", "name": "Gripe",
                                                               "message": "Ola {name}"})

    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response.url == reverse("campaigns:bulk_detail", args=[campaign.id])
    html = editor.get(response.url).content.decode()
    assert 'id="sent">2<' in html and 'id="pending">0<' in html and "Cancel sending" not in html
    assert "Gripe" in editor.get(reverse("campaigns:bulk_list")).content.decode()


def test_cancel_button_stops_a_sending_campaign(editor, clinic):
    for _index in range(3):
        consenting(clinic)
    campaign = bulk.campaign_send(clinic=clinic, name="Gripe", message="Ola", audience=bulk.Audience())
    bulk.campaign_batch_send(campaign_id=campaign.id, batch_size=1)
    assert "Cancel sending" in editor.get(reverse("campaigns:bulk_detail", args=[campaign.id])).content.decode()

    editor.post(reverse("campaigns:bulk_cancel", args=[campaign.id]))

    html = editor.get(reverse("campaigns:bulk_detail", args=[campaign.id])).content.decode()
    assert Campaign.objects.get().status == "cancelled" and 'id="sent">1<' in html


def test_bad_form_answers_400_with_the_reason(editor):
    response = editor.post(reverse("campaigns:bulk_list"), {"action": "send", "name": "", "message": "Ola {nome}"})
    assert response.status_code == 400 and "{nome}" in response.content.decode()
    assert Campaign.objects.count() == 0


def test_viewer_cannot_send_or_cancel(client, clinic):
    viewer = signed_in(client, MembershipFactory(clinic=clinic, role=Membership.Role.VIEWER))
    campaign = Campaign.objects.create(clinic=clinic, name="Gripe", message="Ola", status="sending")
    assert "Create and send" not in viewer.get(reverse("campaigns:bulk_list")).content.decode()
    assert viewer.post(reverse("campaigns:bulk_list"), {"action": "send", "name": "x",
                                                         "message": "y"}).status_code == 403
    assert viewer.post(reverse("campaigns:bulk_cancel", args=[campaign.id])).status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).status == "sending"


def test_another_clinics_campaign_is_404_in_the_console(editor, other_clinic):
    campaign = Campaign.objects.create(clinic=other_clinic, name="Alheia", message="Ola", status="sending")
    assert editor.get(reverse("campaigns:bulk_detail", args=[campaign.id])).status_code == 404
    assert editor.post(reverse("campaigns:bulk_cancel", args=[campaign.id])).status_code == 404
    assert Campaign.objects.get(pk=campaign.pk).status == "sending"
