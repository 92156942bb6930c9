"""The weekly hours editor and prices in Chromium at 390 px and 1280 px: a break added as a second range, a day
closed with its toggle, a range removed, an overlap shown on its own day; the services list in euros."""
import datetime as dt

import pytest
from django.urls import reverse

from clinics.models import Membership
from scheduling.models import WorkingHours
from tests.browser.console_desk import WIDTHS, build_day, member, open_context, shoot

pytestmark = pytest.mark.browser


def _week(professional):
    return list(WorkingHours.objects.filter(professional=professional).order_by("weekday", "start")
                .values_list("weekday", "start", "end"))


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_edit_a_week_with_a_break_a_closed_day_and_an_overlap_refused_on_its_day(chromium, live_server, client,
                                                                                transactional_db, clinic, width):
    desk = build_day(clinic)
    ana = desk["ana"]  # 08:00–18:00 every day
    context = open_context(chromium, live_server, client, member(clinic, Membership.Role.EDITOR), width)
    page = context.new_page()
    page.goto(reverse("scheduling:professional_edit", args=[ana.pk]))

    monday = page.locator(".weekday-hours[data-day=hours_mon]")
    monday.locator("input[name=hours_mon-end]").fill("13:00")
    monday.locator("[data-action=add-interval]").click()
    assert monday.locator("[data-role=interval]").count() == 2
    assert page.evaluate("document.activeElement.name") == "hours_mon-start"  # focus moves to the new range
    monday.locator("input[name=hours_mon-start]").nth(1).fill("14:00")
    monday.locator("input[name=hours_mon-end]").nth(1).fill("18:00")

    sunday = page.locator(".weekday-hours[data-day=hours_sun]")
    sunday.locator("[data-role=closed]").check()
    assert not sunday.locator("[data-role=intervals]").is_visible()

    saturday = page.locator(".weekday-hours[data-day=hours_sat]")
    saturday.locator("[data-action=add-interval]").click()
    saturday.locator("[data-action=remove-interval]").nth(1).click()
    assert saturday.locator("[data-role=interval]").count() == 1

    # Tuesday overlaps itself: refused on Tuesday, nothing saved.
    tuesday = page.locator(".weekday-hours[data-day=hours_tue]")
    tuesday.locator("[data-action=add-interval]").click()
    tuesday.locator("input[name=hours_tue-start]").nth(1).fill("12:00")
    tuesday.locator("input[name=hours_tue-end]").nth(1).fill("19:00")
    with page.expect_navigation():
        page.locator("form.card button[type=submit]").last.click()
    assert page.locator(".weekday-hours.has-error").count() == 1
    error = page.locator(".weekday-hours[data-day=hours_tue] .errorlist")
    assert error.is_visible() and error.inner_text().strip()
    assert _week(ana) == [(day, dt.time(8), dt.time(18)) for day in range(7)]
    # What was typed is still there, the closed Sunday too.
    assert page.locator("input[name=hours_mon-start]").nth(1).input_value() == "14:00"
    assert page.locator(".weekday-hours[data-day=hours_sun] [data-role=closed]").is_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    shoot(page, f"professional-hours-error-{width}.png")

    page.locator(".weekday-hours[data-day=hours_tue] [data-action=remove-interval]").nth(1).click()
    with page.expect_navigation():
        page.locator("form.card button[type=submit]").last.click()
    assert page.locator(".message.success").is_visible()
    week = _week(ana)
    assert [row for row in week if row[0] == 0] == [(0, dt.time(8), dt.time(13)), (0, dt.time(14), dt.time(18))]
    assert [row for row in week if row[0] == 6] == []
    assert [row for row in week if row[0] == 5] == [(5, dt.time(8), dt.time(18))]
    page.goto(reverse("scheduling:professional_edit", args=[ana.pk]))
    shoot(page, f"professional-hours-{width}.png")
    context.close()


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_a_price_typed_in_euros_is_listed_in_euros(chromium, live_server, client, transactional_db, clinic, width):
    build_day(clinic)
    context = open_context(chromium, live_server, client, member(clinic, Membership.Role.EDITOR), width)
    page = context.new_page()
    page.goto(reverse("scheduling:service_new"))
    page.locator("#id_name").fill("Check-up")
    page.locator("#id_duration_minutes").fill("30")
    page.locator("#id_price").fill("45.50")  # the context's language is English
    page.locator("#id_currency").fill("EUR")
    with page.expect_navigation():
        page.locator("form.card button[type=submit]").click()
    row = page.locator("tr", has_text="Check-up")
    assert row.locator("td.amount").inner_text() == "€45.50"
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    shoot(page, f"services-prices-{width}.png")
    context.close()


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_the_clinics_opening_hours_close_a_day_by_keyboard(chromium, live_server, client, transactional_db, clinic,
                                                          width):
    from scheduling.selectors import opening_hours
    from tests.browser.test_accessibility import serious_violations

    build_day(clinic)
    context = open_context(chromium, live_server, client, member(clinic, Membership.Role.ADMIN), width)
    page = context.new_page()
    page.goto(reverse("scheduling:opening_hours"))
    friday = page.locator(".weekday-hours[data-day=hours_fri]")
    friday.locator("[data-role=closed]").focus()
    page.keyboard.press("Space")
    assert not friday.locator("[data-role=intervals]").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    if width == "1280":
        assert serious_violations(page) == []
    with page.expect_navigation():
        page.locator("form.card button[type=submit]").click()
    assert page.locator(".message.success").is_visible()
    shoot(page, f"opening-hours-{width}.png")
    clinic.refresh_from_db()
    hours = opening_hours(clinic)
    assert hours["fri"] == [] and hours["mon"] == [["09:00", "18:00"]]
    context.close()
