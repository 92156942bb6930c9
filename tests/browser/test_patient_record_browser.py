"""The patient record in Chromium at 390 px and 1280 px, by keyboard: search as you type finds Maria by the start
of her name, Enter opens her record, the timeline holds every app's events, and a consent is recorded only after
its confirmation form is opened and confirmed."""
import pytest

from clinics.models import Membership
from tests.browser.console_desk import WIDTHS, build_day, member, open_context, shoot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_search_as_you_type_then_the_record_and_a_confirmed_consent_by_keyboard(chromium, live_server, client,
                                                                                transactional_db, clinic, width):
    desk = build_day(clinic)
    context = open_context(chromium, live_server, client, member(clinic, Membership.Role.ADMIN), width)
    page = context.new_page()
    page.goto("/agenda/patients/")
    page.locator("#patient-q").focus()
    page.keyboard.type("Mar")
    page.locator("#patient-results a", has_text="Maria Antunes").wait_for()
    assert page.locator("#patient-results li").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    shoot(page, f"patients-{width}.png")

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Maria Antunes"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    kinds = page.locator(".timeline-entry").evaluate_all("items => items.map(item => item.dataset.kind)")
    assert {"appointment", "call", "message"} <= set(kinds)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    shoot(page, f"patient-record-{width}.png")

    # The consent form is closed until its summary is opened; then the radio and the confirmation by keyboard.
    confirm = page.get_by_role("button", name="Confirm and record")
    assert not confirm.is_visible()
    page.locator("#consent-box summary").focus()
    page.keyboard.press("Enter")
    assert confirm.is_visible()
    page.locator("#consent-kind").focus()
    page.keyboard.press("Tab")  # onto the first radio: "gives consent"
    page.keyboard.press("Space")
    page.locator("#consent-box button[type=submit]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".message.success").is_visible()
    assert page.locator('.timeline-entry[data-kind="consent"]').count() == 1
    desk["maria"].refresh_from_db()
    assert desk["maria"].consents == {"sms": True}
    context.close()


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_book_from_the_patient_record_books_that_patient_and_nobody_new(chromium, live_server, client,
                                                                      transactional_db, clinic, width):
    import datetime as dt

    from django.utils import timezone

    from scheduling.models import Appointment, Patient
    from scheduling.selectors import clinic_zone

    desk = build_day(clinic)
    patients_before = Patient.objects.for_clinic(clinic).count()
    tomorrow = (timezone.now().astimezone(clinic_zone(clinic)) + dt.timedelta(days=1)).date()
    context = open_context(chromium, live_server, client, member(clinic, Membership.Role.ADMIN), width)
    page = context.new_page()
    page.goto(f"/agenda/patients/{desk['maria'].pk}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Book an appointment").click()
    assert page.locator("#id_patient_name").input_value() == "Maria Antunes"
    assert page.locator("#id_patient_phone").input_value().replace(" ", "") == "+351912345678"
    page.locator("#id_professional").select_option(label="Dr. Rui Costa")
    page.locator("#id_service").select_option(label="Consulta geral")
    page.locator("#id_date").fill(tomorrow.isoformat())
    page.locator("#id_time").fill("11:30")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width]["width"]
    with page.expect_navigation():
        page.locator("#appointment-form button[type=submit]").first.click()

    booked = Appointment.objects.for_clinic(clinic).get(professional=desk["rui"], starts_at__date=tomorrow)
    assert booked.patient_id == desk["maria"].pk
    assert booked.starts_at.astimezone(clinic_zone(clinic)).strftime("%H:%M") == "11:30"
    assert Patient.objects.for_clinic(clinic).count() == patients_before
    context.close()
