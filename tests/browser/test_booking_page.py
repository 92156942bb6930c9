"""The public booking page in Chromium at a phone's width (390 px) and a laptop's (1280 px): service → day → slot →
name and phone → confirmation; the .ics of the confirmation parses; the patient cancels from the confirmation's
link and the time is free again. Screenshots go to docs/screenshots/booking-<step>-<width>.png."""
import datetime as dt
import json
import pathlib
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.test_accessibility import serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"390": {"width": 390, "height": 844}, "1280": {"width": 1280, "height": 900}}


@pytest.fixture(params=sorted(WIDTHS))
def width(request):
    return request.param


@pytest.fixture
def page(chromium, live_server, width):
    context = chromium.new_context(base_url=live_server.url, locale="en-GB", viewport=WIDTHS[width],
                                   accept_downloads=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


def shoot(page, step, width):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"booking-{step}-{width}.png"), full_page=True)


def test_patient_books_downloads_the_calendar_file_and_cancels_from_the_link(page, width):
    from clinics.tests.factories import ClinicFactory
    from scheduling.models import Appointment
    from scheduling.tests.conftest import upcoming
    from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory, ServiceFactory
    from telephony.models import Message

    clinic = ClinicFactory(name="Clínica do Rio", address="Rua do Rio, 5, Porto")
    service = ServiceFactory(clinic=clinic, name="Consulta de rotina", duration_minutes=30, price=4500,
                             currency="EUR")
    professional = ProfessionalFactory(clinic=clinic, name="Dra. Inês Matos", services=[service],
                                       hours=[(d, "09:00", "12:00") for d in range(7)])
    day = upcoming(days=3, clinic=clinic).date()
    starts = upcoming(days=3, hour=10, minute=30, clinic=clinic)

    page.goto(f"/booking/{clinic.slug}")
    assert page.get_by_role("heading", level=1).inner_text() == "Clínica do Rio"
    assert "€45.00" in page.get_by_label("Consulta de rotina").locator("xpath=..").inner_text()
    assert "openstreetmap.org/search?query=Rua" in page.get_by_role("link", name="Map").get_attribute("href")
    page.get_by_label("Consulta de rotina").check()
    strip_day = page.locator(f"#day-strip button[data-day='{day.isoformat()}']")
    page.wait_for_function(f"!document.querySelector(\"#day-strip button[data-day='{day.isoformat()}']\").disabled")
    strip_day.focus()
    page.keyboard.press("Enter")
    assert strip_day.get_attribute("aria-pressed") == "true"
    page.locator("#slots button").first.wait_for()
    assert page.locator("#slots button").first.inner_text() == "09:00"
    assert page.get_by_role("group", name="Morning").is_visible()
    assert not page.get_by_role("group", name="Evening").is_visible()
    page.locator("#slots button", has_text="10:00").click()
    page.get_by_label("Name").fill("Tomás Ribeiro")
    page.get_by_label("Mobile phone").fill("912 555 666")
    assert page.get_by_role("button", name="Book").is_disabled()  # the privacy consent is required
    assert page.get_by_role("link", name="privacy notice").get_attribute("href") == f"/booking/{clinic.slug}/privacy"
    page.get_by_label("I agree").check()
    faster = AppointmentFactory(professional=professional, service=service,
                                starts_at=upcoming(days=3, hour=10, clinic=clinic))  # someone was faster
    page.get_by_role("button", name="Book").click()
    page.get_by_text("someone has just taken this time").wait_for()
    # The refusal rebuilds the day strip, its days disabled until the free days are known: shoot it settled.
    page.wait_for_function("[...document.querySelectorAll('#day-strip button')].some(day => !day.disabled)")
    shoot(page, "taken", width)
    assert Appointment.objects.filter(clinic=clinic).count() == 1
    page.locator("#slots button", has_text="10:30").click()
    shoot(page, "form", width)
    assert serious_violations(page) == []
    page.get_by_role("button", name="Book").click()

    page.get_by_role("heading", name="Your appointment is booked").wait_for()
    assert "Dra. Inês Matos" in page.locator("#confirmation-text").inner_text()
    shoot(page, "confirmation", width)
    appointment = Appointment.objects.exclude(pk=faster.pk).get(professional=professional)
    assert appointment.starts_at == starts
    assert appointment.source == "online" and appointment.patient.phone == "+351912555666"
    assert appointment.patient.consents == {"privacy": True}
    assert Message.objects.filter(clinic=clinic, purpose="booking_confirmation").count() == 1

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to my calendar (.ics)").click()
    raw = pathlib.Path(download_info.value.path()).read_bytes().decode()
    lines = raw.replace("\r\n ", "").split("\r\n")
    fields = dict(line.split(":", 1) for line in lines if line)
    assert fields["UID"] == f"{appointment.pk}@frontdesk"
    assert fields["DTSTART"] == starts.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    assert fields["LOCATION"] == "Rua do Rio\\, 5\\, Porto"

    page.get_by_role("link", name="Cancel or reschedule this appointment").click()
    page.get_by_role("heading", name="Your appointment").wait_for()
    assert "T. R." in page.content() and "Tomás Ribeiro" not in page.content()
    shoot(page, "manage", width)
    assert serious_violations(page) == []
    page.get_by_role("button", name="Cancel this appointment").focus()
    page.keyboard.press("Enter")
    page.locator("#manage-message").wait_for()
    shoot(page, "cancelled", width)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED

    page.goto(f"/booking/{clinic.slug}")
    page.get_by_label("Consulta de rotina").check()
    page.get_by_label("Date").fill(day.isoformat())
    page.locator("#slots button", has_text="10:30").wait_for()


def test_patient_ticks_the_optional_marketing_consent_and_it_is_kept_with_the_booking(page, width):
    from clinics.models import AuditEvent
    from clinics.tests.factories import ClinicFactory
    from scheduling.models import Appointment
    from scheduling.tests.conftest import upcoming
    from scheduling.tests.factories import ProfessionalFactory, ServiceFactory

    clinic = ClinicFactory(name="Clínica do Mar")
    service = ServiceFactory(clinic=clinic, name="Consulta de rotina", duration_minutes=30)
    ProfessionalFactory(clinic=clinic, name="Dra. Inês Matos", services=[service],
                        hours=[(d, "09:00", "12:00") for d in range(7)])
    day = upcoming(days=3, clinic=clinic).date()

    page.goto(f"/booking/{clinic.slug}")
    page.get_by_label("Consulta de rotina").check()
    page.get_by_label("Date").fill(day.isoformat())
    page.locator("#slots button", has_text="10:30").click()
    page.get_by_label("Name").fill("Tomás Ribeiro")
    page.get_by_label("Mobile phone").fill("912 555 777")
    page.get_by_label("I agree").check()
    marketing = page.get_by_label("Send me news and offers from Clínica do Mar by SMS")
    assert not marketing.is_checked()  # optional, and never ticked for the patient
    marketing.focus()
    page.keyboard.press("Space")
    assert marketing.is_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    shoot(page, "marketing-consent", width)
    page.get_by_role("button", name="Book").click()

    page.get_by_role("heading", name="Your appointment is booked").wait_for()
    patient = Appointment.objects.get(clinic=clinic).patient
    # Asked, not yet given: the phone's owner confirms it by the link texted to them (double opt-in).
    assert set(patient.consents) == {"privacy", "marketing_pending"} and patient.consents["privacy"] is True
    assert AuditEvent.objects.filter(action="patient.consent", object_id=str(patient.pk),
                                     extra__kind="marketing", extra__pending=True).count() == 1


def test_a_late_answer_for_another_day_never_shows_its_times_under_the_day_chosen(page, width):
    from clinics.tests.factories import ClinicFactory
    from scheduling.tests.conftest import upcoming
    from scheduling.tests.factories import ProfessionalFactory, ServiceFactory

    clinic = ClinicFactory(name="Clínica do Largo")
    service = ServiceFactory(clinic=clinic, name="Consulta de rotina", duration_minutes=30)
    professional = ProfessionalFactory(clinic=clinic, services=[service], hours=[(d, "09:00", "12:00") for d in range(7)])
    day = upcoming(days=3, clinic=clinic).date().isoformat()
    held = []  # the one-day question asked for another day than the one chosen: answered only at the end

    def hold_other_days(route):
        query = parse_qs(urlsplit(route.request.url).query)
        if query.get("from") == query.get("to") and query.get("from") != [day]:
            held.append(route)
        else:
            route.continue_()

    page.route("**/slots?*", hold_other_days)
    page.goto(f"/booking/{clinic.slug}")
    page.get_by_label("Consulta de rotina").check()  # asks for today's times first
    page.get_by_label("Date").fill(day)
    page.locator("#slots button").first.wait_for()
    assert len(held) == 1
    stale = parse_qs(urlsplit(held[0].request.url).query)["from"][0]
    held[0].fulfill(status=200, content_type="application/json", body=json.dumps({"slots": [{
        "startsAt": f"{stale}T10:30:00+00:00", "endsAt": f"{stale}T11:00:00+00:00",
        "professionalId": str(professional.pk)}]}))
    page.evaluate("() => new Promise(resolve => setTimeout(resolve, 300))")  # let the late answer land

    starts = [button.get_attribute("data-starts-at") for button in page.locator("#slots button").all()]
    assert starts and all(value.startswith(day) for value in starts), starts
    assert page.locator("#slots button", has_text="10:30").count() == 1


# The chosen day's box and the strip's visible box, in viewport pixels (left, right).
DAY_AND_STRIP = """(selector) => {
    const day = document.querySelector(selector), strip = day.closest(".day-strip");
    const box = day.getBoundingClientRect(), view = strip.getBoundingClientRect();
    return {day: [box.left, box.right], strip: [view.left + strip.clientLeft,
                                                view.left + strip.clientLeft + strip.clientWidth]};
}"""


def assert_fully_in_strip(page, selector):
    boxes = page.evaluate(DAY_AND_STRIP, selector)
    assert boxes["strip"][0] <= boxes["day"][0] and boxes["day"][1] <= boxes["strip"][1], boxes


def booking_clinic(name):
    from clinics.tests.factories import ClinicFactory
    from scheduling.tests.factories import ProfessionalFactory, ServiceFactory

    clinic = ClinicFactory(name=name)
    service = ServiceFactory(clinic=clinic, name="Consulta de rotina", duration_minutes=30)
    professional = ProfessionalFactory(clinic=clinic, name="Dra. Inês Matos", services=[service],
                                       hours=[(d, "09:00", "12:00") for d in range(7)])
    return clinic, service, professional


def open_strip(page, clinic, last_day):
    page.goto(f"/booking/{clinic.slug}")
    page.get_by_label("Consulta de rotina").check()
    page.wait_for_function(f"!document.querySelector(\"#day-strip button[data-day='{last_day}']\").disabled")


def test_a_day_chosen_at_the_strips_edge_or_beyond_it_is_scrolled_fully_into_view(page, width):
    from scheduling.tests.conftest import upcoming

    clinic, _service, _professional = booking_clinic("Clínica da Foz")
    last_day = upcoming(days=13, clinic=clinic).date().isoformat()  # the last of the 14 days offered
    open_strip(page, clinic, last_day)
    # The patient taps the visible part of the day cut by the strip's right edge (a plain tap: Playwright's own
    # click would scroll the day into view first and hide the bug).
    edge = page.evaluate("""() => {
        const strip = document.getElementById("day-strip"), right = strip.getBoundingClientRect().right;
        const day = Array.prototype.find.call(strip.children, button => {
            const box = button.getBoundingClientRect();
            return !button.disabled && box.left < right - 8 && box.right > right;
        });
        if (!day) { return null; }
        const box = day.getBoundingClientRect();
        return {day: day.dataset.day, x: (box.left + right) / 2, y: (box.top + box.bottom) / 2};
    }""")
    assert edge is not None, "no day is cut by the strip's right edge: the strip no longer overflows"
    page.mouse.click(edge["x"], edge["y"])
    chosen = f"#day-strip button[data-day='{edge['day']}']"
    assert page.locator(chosen).get_attribute("aria-pressed") == "true"
    assert_fully_in_strip(page, chosen)

    page.get_by_label("Date").fill(last_day)  # a day far past the visible part of the strip
    chosen = f"#day-strip button[data-day='{last_day}']"
    assert page.locator(chosen).get_attribute("aria-pressed") == "true"
    assert_fully_in_strip(page, chosen)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]

    # A keyboard user going back through the days sees each one as it takes the focus.
    page.keyboard.press("Shift+Tab")
    walked = []
    while page.evaluate("document.activeElement.parentNode.id") == "day-strip":
        focused = page.evaluate("document.activeElement.dataset.day")
        assert_fully_in_strip(page, f"#day-strip button[data-day='{focused}']")
        walked.append(focused)
        page.keyboard.press("Shift+Tab")
    assert walked[0] == last_day and len(walked) >= 13, walked


def test_after_a_refusal_rebuilds_the_strip_the_chosen_day_is_still_in_view(page, width):
    from scheduling.tests.conftest import upcoming
    from scheduling.tests.factories import AppointmentFactory

    clinic, service, professional = booking_clinic("Clínica do Cais")
    last_day = upcoming(days=13, clinic=clinic).date().isoformat()
    open_strip(page, clinic, last_day)
    page.get_by_label("Date").fill(last_day)
    page.locator("#slots button", has_text="10:00").click()
    page.get_by_label("Name").fill("Tomás Ribeiro")
    page.get_by_label("Mobile phone").fill("912 555 888")
    page.get_by_label("I agree").check()
    AppointmentFactory(professional=professional, service=service,
                       starts_at=upcoming(days=13, hour=10, clinic=clinic))  # someone was faster
    page.get_by_role("button", name="Book").click()
    page.get_by_text("someone has just taken this time").wait_for()
    chosen = f"#day-strip button[data-day='{last_day}']"
    page.wait_for_function(f"!document.querySelector(\"{chosen}\").disabled")  # the strip is built again
    assert page.locator(chosen).get_attribute("aria-pressed") == "true"
    assert_fully_in_strip(page, chosen)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]


def test_the_manage_page_shows_its_chosen_day_on_load_and_after_a_refused_move(page, width):
    from scheduling.public_manage import manage_path
    from scheduling.tests.conftest import upcoming
    from scheduling.tests.factories import AppointmentFactory

    clinic, service, professional = booking_clinic("Clínica da Ribeira")
    appointment = AppointmentFactory(professional=professional, service=service,
                                     starts_at=upcoming(days=1, hour=9, clinic=clinic))
    last_day = upcoming(days=13, clinic=clinic).date().isoformat()
    page.goto(f"{manage_path(appointment)}?day={last_day}")
    chosen = f".day-strip a[href='?day={last_day}']"
    assert page.locator(chosen).get_attribute("aria-current") == "date"
    assert_fully_in_strip(page, chosen)

    page.get_by_label("10:00").check()
    AppointmentFactory(professional=professional, service=service,
                       starts_at=upcoming(days=13, hour=10, clinic=clinic))  # someone was faster
    page.get_by_role("button", name="Move my appointment").click()
    page.locator("#manage-error").wait_for()
    assert page.locator(chosen).get_attribute("aria-current") == "date"
    assert_fully_in_strip(page, chosen)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
