"""The triage page in Chromium at 390 px and 1280 px: each appointment's triage state, the answers opened by
keyboard, and the link sent from the page (through the service), after which the appointment waits for answers."""
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import PatientLink
from clinics.models import Membership
from scheduling.tests.factories import AppointmentFactory
from tests.browser.console_desk import WIDTHS, build_day, member, open_context, shoot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_triage_states_answers_and_sending_a_link(chromium, live_server, client, transactional_db, clinic, width):
    desk = build_day(clinic)
    tomorrow = timezone.now() + dt.timedelta(days=1)
    answered = AppointmentFactory(professional=desk["ana"], service=desk["service"], patient=desk["maria"],
                                  starts_at=tomorrow.replace(hour=11, minute=0, second=0, microsecond=0))
    link, _message = services.triage_link_send(clinic=clinic, appointment=answered)
    services.triage_submit(link=link, submitted={"reason": "Dor nas costas", "allergies": "no"})
    waiting = desk["appointments"][1]  # João, today
    context = open_context(chromium, live_server, client, member(clinic, Membership.Role.EDITOR), width)
    page = context.new_page()
    page.goto(reverse("triage:list"))
    card = page.locator(f".triage-item[data-appointment='{answered.pk}']")
    assert card.get_attribute("data-state") == "answered"
    card.locator("summary").focus()
    page.keyboard.press("Enter")
    assert card.locator(".triage-answers").inner_text().count("Dor nas costas") == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    shoot(page, f"triage-{width}.png")

    target = page.locator(f".triage-item[data-appointment='{waiting.pk}']")
    assert target.get_attribute("data-state") == "not_sent"
    with page.expect_navigation():
        target.locator("button[type=submit]").click()
    assert page.locator(".message.success").is_visible()
    assert page.locator(f".triage-item[data-appointment='{waiting.pk}']").get_attribute("data-state") == "waiting"
    assert PatientLink.objects.filter(appointment=waiting, kind="triage").count() == 1
    context.close()
