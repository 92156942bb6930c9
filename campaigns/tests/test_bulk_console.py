"""Console pages of bulk SMS campaigns: the list and its status filter, the audience count that follows the filters,
preview then an explicit confirmation naming the number of patients (and, in quiet hours, when sending starts),
detail with counts, cancel; roles and tenancy."""
import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import formats, timezone

from campaigns import bulk
from campaigns.models import Campaign
from clinics.models import Membership
from clinics.tests.factories import MembershipFactory
from scheduling.selectors import clinic_zone
from scheduling.tests.factories import ProfessionalFactory
from telephony.models import Message

from .factories import EngagementPatientFactory
from .test_console import signed_in

pytestmark = pytest.mark.django_db

CAMPAIGN = {"name": "Gripe", "message": "Ola {name}"}


def no_quiet_hours(clinic):
    clinic.booking_rules = {"quiet_hours": {"start": "00:00", "end": "00:00"}}
    clinic.save(update_fields=["booking_rules"])


@pytest.fixture
def editor(client, clinic):
    no_quiet_hours(clinic)
    return signed_in(client, MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR))


def consenting(clinic, **kwargs):
    return EngagementPatientFactory(clinic=clinic, consents={"sms": True, "marketing": True}, **kwargs)


def test_the_menus_campaigns_entry_opens_the_campaign_list(editor):
    html = editor.get(reverse("campaigns:bulk_list")).content.decode()
    link = re.search(r'<a href="([^"]+)"[^>]*>Campaigns</a>', html)
    assert link and link.group(1) == reverse("campaigns:bulk_list") and 'aria-current="page">Campaigns' in html


def test_the_page_opens_with_the_count_of_the_whole_audience(editor, clinic):
    consenting(clinic)
    consenting(clinic)
    EngagementPatientFactory(clinic=clinic, consents={"sms": True})
    html = editor.get(reverse("campaigns:bulk_list")).content.decode()
    assert "2 patients will receive it" in html and "3 matched" in html


def test_audience_count_follows_the_filters(editor, clinic):
    consenting(clinic, tags=["vip"])
    consenting(clinic)
    EngagementPatientFactory(clinic=clinic, tags=["vip"], consents={"sms": True})

    everyone = editor.get(reverse("campaigns:bulk_audience")).json()
    vip = editor.get(reverse("campaigns:bulk_audience"), {"tags": "vip"}).json()

    assert (everyone["targets"], everyone["matched"]) == (2, 3)
    assert (vip["targets"], vip["matched"]) == (1, 2) and vip["excluded"]["noMarketingConsent"] == 1
    assert vip["label"] == "1 patient will receive it"


def test_audience_count_never_counts_another_clinics_patients_nor_takes_its_professional(editor, clinic,
                                                                                        other_clinic):
    consenting(clinic)
    consenting(other_clinic)
    consenting(other_clinic)
    foreign = ProfessionalFactory(clinic=other_clinic)

    assert editor.get(reverse("campaigns:bulk_audience")).json()["targets"] == 1
    refused = editor.get(reverse("campaigns:bulk_audience"), {"professional": str(foreign.pk)})
    assert refused.status_code == 400 and "No such professional" in refused.json()["errors"][0]


def test_audience_count_refuses_a_malformed_filter_with_400(editor):
    response = editor.get(reverse("campaigns:bulk_audience"), {"last_visit_after": "yesterday"})
    assert response.status_code == 400 and response.json()["errors"][0].startswith("last_visit_after")


def test_preview_asks_to_send_to_the_number_of_patients_and_sends_nothing(editor, clinic):
    consenting(clinic, tags=["vip"])
    EngagementPatientFactory(clinic=clinic, tags=["vip"], consents={"sms": True})

    response = editor.post(reverse("campaigns:bulk_list"), {"action": "preview", "tags": "vip", **CAMPAIGN})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Send to 1 patient?" in html and "Yes, send to 1 patient" in html
    assert "2 matched" in html and "1 without marketing consent" in html
    assert "Sending starts as soon as you confirm." in html
    assert Campaign.objects.count() == 0


def test_send_without_the_confirmation_only_asks(editor, clinic):
    consenting(clinic)
    response = editor.post(reverse("campaigns:bulk_list"), {"action": "send", **CAMPAIGN})
    assert response.status_code == 200 and "Send to 1 patient?" in response.content.decode()
    assert Campaign.objects.count() == 0 and Message.objects.count() == 0


def test_confirmed_send_creates_sends_and_detail_shows_counts(editor, clinic, django_capture_on_commit_callbacks):
    consenting(clinic)
    consenting(clinic)

    with django_capture_on_commit_callbacks(execute=True):
        response = editor.post(reverse("campaigns:bulk_list"), {"action": "send", "confirmed_targets": "2",
                                                                **CAMPAIGN})

    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response.url == reverse("campaigns:bulk_detail", args=[campaign.id])
    html = editor.get(response.url).content.decode()
    assert 'id="sent">2<' in html and 'id="pending">0<' in html and "Cancel sending" not in html
    assert Message.objects.filter(clinic=clinic).count() == 2
    assert "Gripe" in editor.get(reverse("campaigns:bulk_list")).content.decode()


def test_a_confirmation_for_another_number_asks_again_instead_of_sending(editor, clinic):
    consenting(clinic)
    consenting(clinic)  # consented after the member saw "Send to 1 patient?"

    response = editor.post(reverse("campaigns:bulk_list"), {"action": "send", "confirmed_targets": "1", **CAMPAIGN})

    html = response.content.decode()
    assert "The audience changed since the preview" in html and "Send to 2 patients?" in html
    assert Campaign.objects.count() == 0


def test_nobody_to_reach_offers_no_send_button(editor, clinic):
    EngagementPatientFactory(clinic=clinic, consents={"sms": True})
    html = editor.post(reverse("campaigns:bulk_list"), {"action": "preview", **CAMPAIGN}).content.decode()
    assert "Nobody would receive this campaign" in html and 'value="send"' not in html
    editor.post(reverse("campaigns:bulk_list"), {"action": "send", "confirmed_targets": "0", **CAMPAIGN})
    assert Campaign.objects.count() == 0


def test_confirmation_inside_quiet_hours_says_when_sending_will_start(editor, clinic):
    consenting(clinic)
    zone = clinic_zone(clinic)
    local = timezone.now().astimezone(zone)
    clinic.booking_rules = {"quiet_hours": {"start": (local - dt.timedelta(hours=1)).strftime("%H:%M"),
                                            "end": (local + dt.timedelta(hours=2)).strftime("%H:%M")}}
    clinic.save(update_fields=["booking_rules"])
    starts = bulk.sending_starts_at(clinic)

    html = editor.post(reverse("campaigns:bulk_list"), {"action": "preview", **CAMPAIGN}).content.decode()

    assert starts is not None and dt.timedelta(hours=1) < starts - timezone.now() <= dt.timedelta(hours=2)
    when = formats.date_format(starts.astimezone(zone), "SHORT_DATETIME_FORMAT")
    assert f"Sending will start at {when}, when they end." in html and "Send to 1 patient?" in html


def test_bad_form_answers_400_with_the_reason(editor):
    response = editor.post(reverse("campaigns:bulk_list"), {"action": "preview", "name": "", "message": "Ola {nome}"})
    assert response.status_code == 400 and "{nome}" in response.content.decode()
    assert Campaign.objects.count() == 0


def test_the_list_filters_by_status_with_the_apis_filterset(editor, clinic, django_assert_max_num_queries):
    Campaign.objects.create(clinic=clinic, name="Enviada", message="Ola", status=Campaign.Status.COMPLETED)
    Campaign.objects.create(clinic=clinic, name="Anulada", message="Ola", status=Campaign.Status.CANCELLED)
    with django_assert_max_num_queries(14):
        completed = editor.get(reverse("campaigns:bulk_list"), {"status": "completed"}).content.decode()
    unknown = editor.get(reverse("campaigns:bulk_list"), {"status": "exploded"}).content.decode()
    assert "Enviada" in completed and "Anulada" not in completed
    assert "Enviada" in unknown and "Anulada" in unknown  # the console ignores a status it does not know


def test_cancel_button_stops_a_sending_campaign(editor, clinic):
    for _index in range(3):
        consenting(clinic)
    campaign = bulk.campaign_send(clinic=clinic, name="Gripe", message="Ola", audience=bulk.Audience())
    bulk.campaign_batch_send(campaign_id=campaign.id, batch_size=1)
    assert "Cancel sending" in editor.get(reverse("campaigns:bulk_detail", args=[campaign.id])).content.decode()

    editor.post(reverse("campaigns:bulk_cancel", args=[campaign.id]))

    html = editor.get(reverse("campaigns:bulk_detail", args=[campaign.id])).content.decode()
    assert Campaign.objects.get().status == "cancelled" and 'id="sent">1<' in html


def test_viewer_cannot_count_preview_send_or_cancel(client, clinic):
    viewer = signed_in(client, MembershipFactory(clinic=clinic, role=Membership.Role.VIEWER))
    consenting(clinic)
    campaign = Campaign.objects.create(clinic=clinic, name="Gripe", message="Ola", status="sending")
    html = viewer.get(reverse("campaigns:bulk_list")).content.decode()
    assert "Gripe" in html and "New campaign" not in html
    assert viewer.get(reverse("campaigns:bulk_audience")).status_code == 403
    assert viewer.post(reverse("campaigns:bulk_list"), {"action": "send", "confirmed_targets": "1",
                                                         **CAMPAIGN}).status_code == 403
    assert viewer.post(reverse("campaigns:bulk_cancel", args=[campaign.id])).status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).status == "sending" and Campaign.objects.count() == 1


def test_another_clinics_campaign_is_404_and_never_listed_in_the_console(editor, other_clinic):
    campaign = Campaign.objects.create(clinic=other_clinic, name="Alheia", message="Ola", status="sending")
    assert editor.get(reverse("campaigns:bulk_detail", args=[campaign.id])).status_code == 404
    assert editor.post(reverse("campaigns:bulk_cancel", args=[campaign.id])).status_code == 404
    assert "Alheia" not in editor.get(reverse("campaigns:bulk_list"), {"status": "sending"}).content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == "sending"
