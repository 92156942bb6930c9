"""The console's home in Chromium at 390 px and 1280 px: today's list per professional, the calls, the three
Chart.js charts drawn from the vendored file, and a check-in done with the keyboard alone."""
import re

import pytest

from clinics.models import Membership
from scheduling.models import Appointment
from tests.browser.console_desk import WIDTHS, build_day, member, open_context, shoot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_home_shows_the_day_and_charts_and_checks_a_patient_in_by_keyboard(chromium, live_server, client,
                                                                           transactional_db, clinic, width):
    desk = build_day(clinic)
    context = open_context(chromium, live_server, client, member(clinic, Membership.Role.EDITOR), width)
    page = context.new_page()
    outside = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(live_server.url) else None)
    page.goto("/")
    page.wait_for_function("document.documentElement.dataset.chartsReady === '1'")
    assert page.locator("#today-heading").is_visible()
    assert page.locator(".professional-name", has_text="Dra. Ana Sousa").is_visible()
    assert page.locator(".call-list").first.is_visible()
    # Chart.js drew on each canvas (a chart instance is attached and the canvas has a size).
    for chart in ("chart-bookings", "chart-calls", "chart-noshows"):
        assert page.evaluate(f"!!document.getElementById('{chart}').chart")
        assert page.locator(f"#{chart}").bounding_box()["height"] > 50
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    shoot(page, f"home-{width}.png")

    # Keyboard only: Tab until the check-in button of Maria's 09:00 has focus, then Enter.
    target = page.get_by_role("button", name=re.compile(r"Check in Maria Antunes"))
    for _ in range(60):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            break
    else:
        pytest.fail("the check-in button cannot be reached with Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".message.success").is_visible()
    assert page.locator(".day-item", has_text="Maria Antunes").locator(".badge.ok").is_visible()
    assert outside == []
    first = desk["appointments"][0]
    first.refresh_from_db()
    assert first.status == Appointment.Status.COMPLETED
    context.close()
