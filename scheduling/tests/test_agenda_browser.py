"""The console agenda in Chromium, at a phone's width (390 px) and a laptop's (1280 px): a click on a free time
books it, dragging an appointment moves it, a refused drag snaps back and says why, the keyboard moves one too,
its bottom edge (or Alt+Shift+arrows) changes when it ends, and cancelling asks for a reason. Screenshots go to
docs/screenshots/ for review."""
import pathlib

import pytest
from django.urls import reverse

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory
from scheduling.models import Appointment
from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import AppointmentFactory, PatientFactory, ProfessionalFactory, ServiceFactory

pytestmark = [pytest.mark.browser]

SCREENSHOTS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"390": {"width": 390, "height": 844}, "1280": {"width": 1280, "height": 900}}


@pytest.fixture(params=sorted(WIDTHS))
def width(request):
    return request.param


@pytest.fixture
def desk(transactional_db, clinic):
    """A small clinic: two professionals working 08:00-18:00 every day (Rui has lunch at 13:00), two services,
    one editor."""
    consult = ServiceFactory(clinic=clinic, name="Consulta geral", duration_minutes=30)
    cleaning = ServiceFactory(clinic=clinic, name="Higiene oral", duration_minutes=45)
    hours = [(day, "08:00", "18:00") for day in range(7)]
    ana = ProfessionalFactory(clinic=clinic, name="Dra. Ana Sousa", colour="#0ea5e9", services=[consult, cleaning],
                              hours=hours)
    lunch_break = [(day, start, end) for day in range(7) for start, end in (("08:00", "13:00"), ("14:00", "18:00"))]
    rui = ProfessionalFactory(clinic=clinic, name="Dr. Rui Costa", colour="#f97316", services=[consult, cleaning],
                              hours=lunch_break)
    member = MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR)
    return {"clinic": clinic, "consult": consult, "cleaning": cleaning, "ana": ana, "rui": rui, "member": member}



@pytest.fixture
def page(chromium, live_server, client, desk, width):
    client.force_login(desk["member"].user)
    context = chromium.new_context(base_url=live_server.url, locale="en-GB", viewport=WIDTHS[width])
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    yield page
    context.close()


def shoot(page, name, whole=True):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if whole:
        page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar would otherwise be drawn mid-page
    page.screenshot(path=str(SCREENSHOTS / name), full_page=whole)


def open_day(page, day):
    page.goto(f"{reverse('scheduling:agenda')}?date={day.isoformat()}")
    page.locator("#agenda").wait_for()


def slot(page, professional, time):
    return page.locator(f'.agenda-column[data-professional="{professional.pk}"] '
                        f'.slot[data-row="{(int(time[:2]) * 60 + int(time[3:]) - 8 * 60) // 15}"]')


def drag(page, item, target, before_release=None):
    """Press near the top of `item`, move in small steps onto the top of `target`, release."""
    target.scroll_into_view_if_needed()
    item.scroll_into_view_if_needed()
    start, end = item.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + 4)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 4, steps=12)
    if before_release:
        before_release()
    page.mouse.up()


def day_with_regulars(desk, days=2):
    """A day `days` ahead with a few appointments, so the screenshots look like a working day."""
    starts = upcoming(days=days, hour=9, clinic=desk["clinic"])
    regulars = [("ana", "consult", 9, 0, "confirmed", "Maria Lopes"), ("ana", "cleaning", 14, 0, "scheduled",
                                                                       "João Pires"),
                ("rui", "cleaning", 9, 30, "scheduled", "Inês Carvalho"), ("rui", "consult", 16, 0, "no_show",
                                                                           "Paulo Reis")]
    for who, what, hour, minute, status, name in regulars:
        AppointmentFactory(professional=desk[who], service=desk[what], status=status,
                           patient=PatientFactory(clinic=desk["clinic"], name=name),
                           starts_at=starts.replace(hour=hour, minute=minute))
    return starts.date()


def test_click_on_a_free_time_books_it(page, desk, width):
    day = day_with_regulars(desk)
    open_day(page, day)
    shoot(page, f"agenda-day-{width}.png")
    slot(page, desk["rui"], "11:00").click()
    page.locator("#appointment-form").wait_for()
    assert page.locator("#id_professional").input_value() == str(desk["rui"].pk)
    assert page.locator("#id_date").input_value() == day.isoformat()
    assert page.locator("#id_time").input_value() == "11:00"
    page.select_option("#id_service", str(desk["consult"].pk))
    page.fill("#id_patient_phone", "916 111 222")
    page.fill("#id_patient_name", "Carla Nunes")
    page.click("#appointment-form button[type=submit]")
    page.locator("#agenda").wait_for()
    booked = page.locator(".appointment", has_text="Carla Nunes")
    booked.wait_for()
    assert "11:00–11:30" in booked.inner_text()
    appointment = Appointment.objects.get(starts_at=upcoming(days=2, hour=11, clinic=desk["clinic"]))
    assert appointment.professional == desk["rui"] and appointment.patient.name == "Carla Nunes"
    shoot(page, f"agenda-booked-{width}.png")


def test_drag_moves_an_appointment_to_another_time_and_professional(page, desk, width):
    starts = upcoming(days=2, hour=10, clinic=desk["clinic"])
    appointment = AppointmentFactory(professional=desk["ana"], service=desk["consult"], starts_at=starts,
                                     patient=PatientFactory(clinic=desk["clinic"], name="Carla Nunes"))
    open_day(page, starts.date())
    item = page.locator(f'.appointment[data-id="{appointment.pk}"]')
    drag(page, item, slot(page, desk["rui"], "11:30"), before_release=lambda: shoot(page, f"agenda-drag-{width}.png", whole=False))
    page.locator("#agenda-status.ok").wait_for()
    assert "Moved to" in page.locator("#agenda-status .agenda-status-text").inner_text()
    assert "11:30–12:00" in item.inner_text()
    assert item.evaluate("element => element.parentNode.dataset.professional") == str(desk["rui"].pk)
    appointment.refresh_from_db()
    assert appointment.starts_at == starts.replace(hour=11, minute=30) and appointment.professional == desk["rui"]
    page.reload()  # what the server shows afterwards is where it was dropped
    assert "11:30–12:00" in page.locator(
        f'.agenda-column[data-professional="{desk["rui"].pk}"] .appointment[data-id="{appointment.pk}"]').inner_text()


def test_refused_drag_snaps_back_and_says_why(page, desk, width):
    starts = upcoming(days=2, hour=10, clinic=desk["clinic"])
    moving = AppointmentFactory(professional=desk["ana"], service=desk["consult"], starts_at=starts,
                                patient=PatientFactory(clinic=desk["clinic"], name="Carla Nunes"))
    AppointmentFactory(professional=desk["ana"], service=desk["consult"], starts_at=starts.replace(hour=11),
                       patient=PatientFactory(clinic=desk["clinic"], name="Rita Dias"))
    open_day(page, starts.date())
    item = page.locator(f'.appointment[data-id="{moving.pk}"]')
    before = item.evaluate("element => [element.offsetTop, element.parentNode.dataset.professional]")
    drag(page, item, slot(page, desk["ana"], "11:15"))
    page.locator("#agenda-status.error").wait_for()
    assert (page.locator("#agenda-status .agenda-status-text").inner_text()
            == "That time is no longer available; please choose another time.")
    page.wait_for_function("id => !document.querySelector(`[data-id='${id}']`).classList.contains('saving')",
                           arg=str(moving.pk))
    assert item.evaluate("element => [element.offsetTop, element.parentNode.dataset.professional]") == before
    assert "10:00–10:30" in item.inner_text()
    shoot(page, f"agenda-refused-{width}.png")
    moving.refresh_from_db()
    assert moving.starts_at == starts and moving.professional == desk["ana"]


def test_a_past_time_cannot_be_booked_and_says_so(page, desk, width):
    yesterday = upcoming(days=-1, clinic=desk["clinic"]).date()
    open_day(page, yesterday)
    assert page.locator("a.slot").count() == 0
    slot(page, desk["ana"], "10:00").click()
    assert "already passed" in page.locator("#agenda-status.error .agenda-status-text").inner_text()
    shoot(page, f"agenda-past-{width}.png")
    page.locator(".agenda-status-close").click()
    assert page.locator("#agenda-status").is_hidden()
    open_day(page, upcoming(days=0, clinic=desk["clinic"]).date())
    shoot(page, f"agenda-today-{width}.png")  # past time greyed, the now-line while anyone works


def test_keyboard_moves_an_appointment_and_walks_free_times(page, desk, width):
    starts = upcoming(days=2, hour=10, clinic=desk["clinic"])
    appointment = AppointmentFactory(professional=desk["ana"], service=desk["consult"], starts_at=starts)
    open_day(page, starts.date())
    item = page.locator(f'.appointment[data-id="{appointment.pk}"]')
    item.focus()
    page.keyboard.press("Alt+ArrowDown")
    page.locator("#agenda-status.ok").wait_for()
    appointment.refresh_from_db()
    assert appointment.starts_at == starts.replace(minute=15)
    assert item.evaluate("element => element === document.activeElement")
    first_free = page.locator(f'.agenda-column[data-professional="{desk["rui"].pk}"] a.slot[tabindex="0"]')
    first_free.focus()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.row") == "1"
    page.keyboard.press("Enter")
    page.locator("#appointment-form").wait_for()
    assert page.locator("#id_time").input_value() == "08:15"


def test_week_view_and_cancel_with_a_reason(page, desk, width):
    day = day_with_regulars(desk)
    page.goto(f"{reverse('scheduling:agenda')}?date={day.isoformat()}&view=week")
    assert page.locator(".agenda-column").count() == 7
    shoot(page, f"agenda-week-{width}.png")
    page.locator(".appointment", has_text="João Pires").click()
    page.locator("#appointment-form").wait_for()
    page.get_by_text("Cancel appointment…").click()
    reason = page.get_by_label("Reason for cancelling")
    reason.fill("Patient is ill")
    shoot(page, f"agenda-cancel-{width}.png")
    page.get_by_role("button", name="Yes, cancel the appointment").click()
    page.locator("#agenda").wait_for()
    cancelled = Appointment.objects.get(starts_at=upcoming(days=2, hour=14, clinic=desk["clinic"]))
    assert cancelled.patient.name == "João Pires" and cancelled.status == "cancelled"
    assert cancelled.notes.endswith("Patient is ill")


def drag_end(page, item, target, before_release=None):
    """Press the handle at the bottom of `item`, move in small steps onto the top edge of `target`, release."""
    item.scroll_into_view_if_needed()
    target.scroll_into_view_if_needed()
    handle, end = item.locator(".appointment-resize").bounding_box(), target.bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(handle["x"] + handle["width"] / 2, end["y"], steps=12)
    if before_release:
        before_release()
    page.mouse.up()


def test_resize_handle_lengthens_an_appointment_and_it_stays(page, desk, width):
    starts = upcoming(days=2, hour=10, clinic=desk["clinic"])
    appointment = AppointmentFactory(professional=desk["ana"], service=desk["consult"], starts_at=starts,
                                     patient=PatientFactory(clinic=desk["clinic"], name="Carla Nunes"))
    open_day(page, starts.date())
    item = page.locator(f'.appointment[data-id="{appointment.pk}"]')
    height = item.bounding_box()["height"]
    drag_end(page, item, slot(page, desk["ana"], "11:15"),
             before_release=lambda: shoot(page, f"agenda-resize-{width}.png", whole=False))
    page.locator("#agenda-status.ok").wait_for()
    assert page.locator("#agenda-status .agenda-status-text").inner_text() == "Now ends at 11:15."
    assert "10:00–11:15" in item.inner_text()
    assert item.bounding_box()["height"] > 2 * height
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.ends_at) == (starts, starts.replace(hour=11, minute=15))
    # The keyboard: Alt+Shift+Down ends it one step later.
    item.focus()
    page.keyboard.press("Alt+Shift+ArrowDown")
    page.wait_for_function("() => document.querySelector('#agenda-status .agenda-status-text').textContent"
                           " === 'Now ends at 11:30.'")
    assert Appointment.objects.get(pk=appointment.pk).ends_at == starts.replace(hour=11, minute=30)
    page.reload()  # what the server shows afterwards is the new length
    assert "10:00–11:30" in page.locator(f'.appointment[data-id="{appointment.pk}"]').inner_text()
    shoot(page, f"agenda-resized-{width}.png")


def test_resize_over_the_next_appointment_snaps_back_and_says_why(page, desk, width):
    starts = upcoming(days=2, hour=10, clinic=desk["clinic"])
    resized = AppointmentFactory(professional=desk["ana"], service=desk["consult"], starts_at=starts,
                                 patient=PatientFactory(clinic=desk["clinic"], name="Carla Nunes"))
    AppointmentFactory(professional=desk["ana"], service=desk["consult"], starts_at=starts.replace(hour=11),
                       patient=PatientFactory(clinic=desk["clinic"], name="Rita Dias"))
    open_day(page, starts.date())
    item = page.locator(f'.appointment[data-id="{resized.pk}"]')
    before = item.bounding_box()["height"]
    drag_end(page, item, slot(page, desk["ana"], "11:30"))
    page.locator("#agenda-status.error").wait_for()
    assert (page.locator("#agenda-status .agenda-status-text").inner_text()
            == "That time is no longer available; please choose another time.")
    assert page.locator("#agenda-status").get_attribute("role") == "alert"
    page.wait_for_function("id => !document.querySelector(`[data-id='${id}']`).classList.contains('saving')",
                           arg=str(resized.pk))
    assert item.bounding_box()["height"] == before
    assert "10:00–10:30" in item.inner_text()
    shoot(page, f"agenda-resize-refused-{width}.png")
    # By keyboard: one step shorter is fine, shorter than one step is refused with the reason.
    item.focus()
    page.keyboard.press("Alt+Shift+ArrowUp")
    page.wait_for_function("() => document.querySelector('#agenda-status .agenda-status-text').textContent"
                           " === 'Now ends at 10:15.'")
    page.keyboard.press("Alt+Shift+ArrowUp")
    page.wait_for_function("() => document.querySelector('#agenda-status .agenda-status-text').textContent"
                           " === 'An appointment lasts at least 15 minutes.'")
    assert "10:00–10:15" in item.inner_text()
    assert item.evaluate("element => element === document.activeElement")
    resized.refresh_from_db()
    assert resized.ends_at == starts.replace(minute=15)
