"""Issue 15's must-show in Chromium at 390 px and 1280 px: staff record Maria's marketing SMS consent on her
record, open Campaigns from the menu, see the audience count include her (and follow a filter without a page
load), preview, confirm "Send to 1 patient" by keyboard, and the campaign reaches her: the local SMS outbox holds
her message and the campaign's page shows 1 sent. Tasks run eagerly (config/settings/test.py). Screenshots go to
docs/screenshots/campaigns-<step>-<width>.png."""
import datetime as dt
import re

import pytest
from django.utils import formats, timezone, translation

from clinics.models import Membership
from tests.browser.console_desk import WIDTHS, build_day, member, open_context, shoot

pytestmark = pytest.mark.browser

MESSAGE = "Olá {name}, a {clinic} tem vacinas da gripe esta semana."


def quiet_hours(clinic, start, end):
    clinic.booking_rules = {**(clinic.booking_rules or {}), "quiet_hours": {"start": start, "end": end}}
    clinic.save(update_fields=["booking_rules"])


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_record_consent_then_send_a_campaign_that_reaches_that_patient(chromium, live_server, client,
                                                                      transactional_db, clinic, width):
    from campaigns.models import Campaign
    from telephony.models import Message

    desk = build_day(clinic)
    quiet_hours(clinic, "00:00", "00:00")  # none: the campaign sends at once, whatever the hour of the run
    context = open_context(chromium, live_server, client, member(clinic, Membership.Role.EDITOR), width)
    page = context.new_page()

    # 1. Maria's record: the marketing consent, through its confirmation form.
    page.goto(f"/agenda/patients/{desk['maria'].pk}/")
    page.locator("#consent-box summary").click()
    page.get_by_label("Consent", exact=True).select_option("marketing")
    page.get_by_label("gives consent").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm and record").click()
    assert page.locator(".message.success").is_visible()
    desk["maria"].refresh_from_db()
    assert desk["maria"].consents == {"marketing": True}

    # 2. The menu's Campaigns opens the list, whose count already includes her (João gave no consent).
    with page.expect_navigation():  # waits for the load event: the page's deferred script is listening then
        page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Campaigns").click()
    page.get_by_role("heading", name="SMS campaigns", level=1).wait_for()
    count = page.locator("#audience-label")
    assert count.inner_text() == "1 patient will receive it"

    # 3. The count follows a filter without loading the page again (a tag nobody has), then comes back.
    page.evaluate("window.samePage = true")
    page.get_by_label("Tags (any of, comma-separated)").fill("vip")
    counted = "document.getElementById('audience-count').dataset.counted === 'tags=%s&last_visit_after=" \
              "&last_visit_before=&professional=&service=&future='"
    page.wait_for_function(counted % "vip")
    assert count.inner_text() == "0 patients will receive it"
    page.get_by_label("Tags (any of, comma-separated)").fill("")
    page.wait_for_function(counted % "")
    assert count.inner_text() == "1 patient will receive it" and page.evaluate("window.samePage") is True

    page.get_by_label("Name").fill("Gripe 2026")
    page.get_by_label("Message").fill(MESSAGE)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    shoot(page, f"campaigns-compose-{width}.png")

    # 4. Preview: a confirmation that names the number; nothing is sent before it is confirmed.
    with page.expect_navigation():
        page.get_by_role("button", name="Preview and send…").click()
    heading = page.get_by_role("heading", name="Send to 1 patient?")
    heading.wait_for()
    assert page.evaluate("document.activeElement.id") == "confirm-heading"
    assert page.locator("#quiet-hours").inner_text() == "Sending starts as soon as you confirm."
    assert Campaign.objects.filter(clinic=clinic).count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    shoot(page, f"campaigns-confirm-{width}.png")

    # 5. Confirm by keyboard: from the focused question, Tab reaches "Yes, send to 1 patient".
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Yes, send to 1 patient"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#sent").inner_text() == "1"
    assert page.locator("#status").inner_text() == "Completed"
    shoot(page, f"campaign-detail-{width}.png")

    # The outbox (phone and text are encrypted at rest, so they are read back, not filtered on).
    recipient = Campaign.objects.get(clinic=clinic).recipients.get()
    sms = Message.objects.get(clinic=clinic, pk=recipient.message_id)
    assert recipient.patient == desk["maria"] and recipient.status == "sent"
    assert (sms.to_phone, sms.body, sms.status) == (
        "+351912345678", f"Olá Maria, a {clinic.name} tem vacinas da gripe esta semana.", Message.Status.DELIVERED)
    assert [message.to_phone for message in Message.objects.filter(clinic=clinic)].count("+351913000111") == 0
    context.close()


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_inside_quiet_hours_the_confirmation_says_when_sending_will_start(chromium, live_server, client,
                                                                         transactional_db, clinic, width):
    from campaigns import bulk
    from scheduling.selectors import clinic_zone
    from telephony.models import Message

    desk = build_day(clinic)
    desk["maria"].consents = {"marketing": True}
    desk["maria"].save(update_fields=["consents"])
    local = timezone.now().astimezone(clinic_zone(clinic))
    quiet_hours(clinic, (local - dt.timedelta(hours=1)).strftime("%H:%M"),
                (local + dt.timedelta(hours=3)).strftime("%H:%M"))
    context = open_context(chromium, live_server, client, member(clinic, Membership.Role.EDITOR), width)
    page = context.new_page()
    page.goto("/console/campaigns/")
    page.get_by_label("Name").fill("Gripe 2026")
    page.get_by_label("Message").fill(MESSAGE)
    with page.expect_navigation():
        page.get_by_role("button", name="Preview and send…").click()

    page.get_by_role("heading", name="Send to 1 patient?").wait_for()
    notice = page.locator("#quiet-hours").inner_text()
    with translation.override("en"):
        when = formats.date_format(bulk.sending_starts_at(clinic), "SHORT_DATETIME_FORMAT")
    assert notice == f"Quiet hours at the clinic: no SMS leaves now. Sending will start at {when}, when they end."
    shoot(page, f"campaigns-quiet-hours-{width}.png")
    before = Message.objects.filter(clinic=clinic).count()
    with page.expect_navigation():
        page.get_by_role("button", name="Yes, send to 1 patient").click()
    assert page.locator("#sent").inner_text() == "0" and page.locator("#pending").inner_text() == "1"
    assert "sending resumes at" in page.locator("#waiting").inner_text()
    assert Message.objects.filter(clinic=clinic).count() == before  # nothing leaves in quiet hours
    context.close()


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_without_javascript_the_preview_counts_and_the_confirmation_still_guards_sending(chromium, live_server,
                                                                                        client, transactional_db,
                                                                                        clinic, width):
    from campaigns.models import Campaign
    from clinics.tests.factories import sign_in_verified

    desk = build_day(clinic)
    desk["maria"].consents = {"marketing": True}
    desk["maria"].save(update_fields=["consents"])
    quiet_hours(clinic, "00:00", "00:00")
    sign_in_verified(client, member(clinic, Membership.Role.EDITOR))
    context = chromium.new_context(base_url=live_server.url, locale="en-GB", viewport=WIDTHS[width],
                                   java_script_enabled=False)
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.goto("/console/campaigns/")
    assert page.locator("#audience-label").inner_text() == "1 patient will receive it"
    page.get_by_label("Name").fill("Gripe 2026")
    page.get_by_label("Message").fill(MESSAGE)
    page.get_by_label("Tags (any of, comma-separated)").fill("vip")  # nobody: the preview counts on the server
    with page.expect_navigation():
        page.get_by_role("button", name="Preview and send…").click()
    assert page.get_by_role("heading", name="Nobody would receive this campaign").is_visible()
    assert page.get_by_role("button", name=re.compile("Yes, send")).count() == 0
    with page.expect_navigation():
        page.get_by_role("button", name="Change the campaign").click()
    assert page.get_by_label("Name").input_value() == "Gripe 2026"
    page.get_by_label("Tags (any of, comma-separated)").fill("")
    with page.expect_navigation():
        page.get_by_role("button", name="Preview and send…").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Yes, send to 1 patient").click()
    assert page.locator("#sent").inner_text() == "1"
    assert Campaign.objects.get(clinic=clinic).name == "Gripe 2026"
    context.close()
