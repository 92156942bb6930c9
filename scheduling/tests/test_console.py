"""Scheduling console pages through the Django test client: agenda, appointments, professionals, services."""
import datetime as dt

import pytest
from django.urls import reverse

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory, UserFactory
from scheduling.models import Appointment, AvailabilityException, Professional, Service, WorkingHours
from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import (AppointmentFactory, AvailabilityExceptionFactory, ProfessionalFactory,
                                        ServiceFactory)

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def editor_client(client, clinic):
    membership = MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR, user=UserFactory())
    client.force_login(membership.user)
    return client


@pytest.fixture
def viewer_client(client, clinic):
    membership = MembershipFactory(clinic=clinic, role=Membership.Role.VIEWER, user=UserFactory())
    client.force_login(membership.user)
    return client


def test_agenda_day_shows_appointments_in_clinic_time(editor_client, clinic, professional, service, other_clinic):
    starts = upcoming(hour=10, clinic=clinic)
    AppointmentFactory(professional=professional, service=service, starts_at=starts)
    foreign = ProfessionalFactory(clinic=other_clinic, name="Dr. Estranho")
    response = editor_client.get(reverse("scheduling:agenda"), {"date": starts.date().isoformat()})
    page = response.content.decode()
    assert response.status_code == 200
    assert "10:00–10:30" in page and professional.name in page and service.name in page
    assert foreign.name not in page


def test_agenda_week_lists_seven_days(editor_client, clinic, professional):
    response = editor_client.get(reverse("scheduling:agenda"), {"date": "2027-01-13", "view": "week"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "11/01" in page and "17/01" in page and "18/01" not in page


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(reverse("scheduling:agenda"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_books_an_appointment_from_the_console(editor_client, clinic, professional, service):
    starts = upcoming(days=3, hour=11, clinic=clinic)
    response = editor_client.post(reverse("scheduling:appointment_new"), {
        "professional": professional.pk, "service": service.pk, "date": starts.date().isoformat(),
        "time": "11:00", "patient_name": "Carla Nunes", "patient_phone": "916 111 222", "notes": "",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    appointment = Appointment.objects.get()
    assert appointment.starts_at == starts and appointment.source == "staff"


def test_console_shows_slot_taken_as_a_form_error(editor_client, clinic, professional, service):
    starts = upcoming(days=3, hour=11, clinic=clinic)
    AppointmentFactory(professional=professional, service=service, starts_at=starts)
    response = editor_client.post(reverse("scheduling:appointment_new"), {
        "professional": professional.pk, "service": service.pk, "date": starts.date().isoformat(),
        "time": "11:15", "patient_name": "Carla Nunes", "patient_phone": "916 111 222"})
    assert response.status_code == 400
    assert "no longer available" in response.content.decode()


def test_edit_reschedules_and_cancel_keeps_the_row(editor_client, clinic, professional, service):
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    new_start = upcoming(hour=16, clinic=clinic)
    response = editor_client.post(reverse("scheduling:appointment_edit", args=[appointment.pk]), {
        "professional": professional.pk, "date": new_start.date().isoformat(), "time": "16:00",
        "status": "confirmed", "notes": "Jejum"})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.status, appointment.notes) == (new_start, "confirmed", "Jejum")
    editor_client.post(reverse("scheduling:appointment_cancel", args=[appointment.pk]), {"reason": "Doente"})
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert appointment.notes.startswith("Jejum\nCancelled (") and appointment.notes.endswith("): Doente")


def test_cancel_without_a_reason_is_refused_and_keeps_the_appointment(editor_client, clinic, professional, service):
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    response = editor_client.post(reverse("scheduling:appointment_cancel", args=[appointment.pk]), {"reason": "  "},
                                  follow=True)
    assert response.status_code == 200
    assert "Say why the appointment is cancelled." in response.content.decode()
    appointment.refresh_from_db()
    assert (appointment.status, appointment.notes) == ("scheduled", "")


def test_edit_form_cannot_cancel_without_the_confirmation(editor_client, clinic, professional, service):
    starts = upcoming(clinic=clinic)
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=starts)
    response = editor_client.post(reverse("scheduling:appointment_edit", args=[appointment.pk]), {
        "professional": professional.pk, "date": starts.date().isoformat(), "time": "10:00", "status": "cancelled"})
    assert response.status_code == 400 and "status" in response.context["form"].errors
    assert Appointment.objects.get(pk=appointment.pk).status == "scheduled"


def test_edit_page_asks_to_confirm_a_cancellation_with_a_reason(editor_client, clinic, professional, service):
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    page = editor_client.get(reverse("scheduling:appointment_edit", args=[appointment.pk])).content.decode()
    assert '<details class="cancel-box">' in page
    assert 'name="reason"' in page and "required" in page.split('name="reason"')[1].split(">")[0]


def test_foreign_appointment_is_404(editor_client, other_clinic):
    foreign = AppointmentFactory(professional=ProfessionalFactory(clinic=other_clinic),
                                 starts_at=upcoming(clinic=other_clinic))
    assert editor_client.get(reverse("scheduling:appointment_edit", args=[foreign.pk])).status_code == 404
    assert editor_client.post(reverse("scheduling:appointment_cancel", args=[foreign.pk])).status_code == 404
    assert Appointment.objects.get(pk=foreign.pk).status == "scheduled"


def test_viewer_cannot_write(viewer_client, clinic, professional, service):
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    assert viewer_client.get(reverse("scheduling:agenda")).status_code == 200
    assert viewer_client.post(reverse("scheduling:appointment_cancel", args=[appointment.pk])).status_code == 403
    assert viewer_client.get(reverse("scheduling:appointment_new")).status_code == 403


def test_professional_form_saves_services_and_working_hours(editor_client, clinic, service):
    new_page = editor_client.get(reverse("scheduling:professional_new")).content.decode()
    assert 'name="hours_mon-start" value="09:00"' in new_page and 'name="hours_mon-end" value="18:00"' in new_page
    closed = {f"hours_{day}-closed": "1" for day in ("tue", "thu", "fri", "sat", "sun")}
    response = editor_client.post(reverse("scheduling:professional_new"), {
        "name": "Dr. Rui Alves", "specialty": "Dermatologia", "colour": "#112233", "active": "on",
        "services": [service.pk], "hours_mon-start": ["09:00", "14:00"], "hours_mon-end": ["13:00", "18:00"],
        "hours_wed-start": "10:00", "hours_wed-end": "12:00", **closed})
    assert response.status_code == 302, response.content.decode()[:3000]
    professional = Professional.objects.get(name="Dr. Rui Alves")
    assert list(professional.services.all()) == [service]
    assert list(WorkingHours.objects.filter(professional=professional).values_list("weekday", "start", "end")) == [
        (0, dt.time(9), dt.time(13)), (0, dt.time(14), dt.time(18)), (2, dt.time(10), dt.time(12))]
    bad = editor_client.post(reverse("scheduling:professional_edit", args=[professional.pk]), {
        "name": "Dr. Rui Alves", "colour": "#112233", "hours_mon-start": "18:00", "hours_mon-end": "09:00"})
    assert bad.status_code == 400
    assert WorkingHours.objects.filter(professional=professional).count() == 3


def test_service_form_creates_edits_and_removes(editor_client, clinic):
    response = editor_client.post(reverse("scheduling:service_new"), {
        "name": "Vacinação", "duration_minutes": 15, "price": "25.00", "currency": "EUR",
        "buffer_before_minutes": 0, "buffer_after_minutes": 5, "online_bookable": "on", "active": "on"})
    assert response.status_code == 302
    service = Service.objects.get(clinic=clinic, name="Vacinação")
    assert (service.duration_minutes, service.buffer_after_minutes, service.price) == (15, 5, 2500)
    editor_client.post(reverse("scheduling:service_edit", args=[service.pk]), {
        "name": "Vacinação", "duration_minutes": 20, "price": "25", "currency": "EUR",
        "buffer_before_minutes": 0, "buffer_after_minutes": 5, "active": "on"})
    service.refresh_from_db()
    assert (service.duration_minutes, service.online_bookable, service.price) == (20, False, 2500)
    assert "Vacinação" in editor_client.get(reverse("scheduling:services")).content.decode()
    editor_client.post(reverse("scheduling:service_remove", args=[service.pk]))
    assert not Service.objects.filter(pk=service.pk).exists()


def test_foreign_service_and_professional_pages_are_404(editor_client, other_clinic):
    service = ServiceFactory(clinic=other_clinic)
    professional = ProfessionalFactory(clinic=other_clinic)
    assert editor_client.get(reverse("scheduling:service_edit", args=[service.pk])).status_code == 404
    assert editor_client.get(reverse("scheduling:professional_edit", args=[professional.pk])).status_code == 404
    assert editor_client.post(reverse("scheduling:professional_remove", args=[professional.pk])).status_code == 404


def test_time_off_added_in_clinic_time_removes_slots_and_can_be_removed(editor_client, clinic, professional,
                                                                         service):
    from scheduling.models import AvailabilityException
    from scheduling.selectors import free_slots

    day = upcoming(days=4, clinic=clinic)
    response = editor_client.post(reverse("scheduling:exceptions"), {
        "professional": professional.pk, "kind": "time_off", "starts": f"{day.date()}T09:00",
        "ends": f"{day.date()}T13:00", "reason": "Congresso"})
    assert response.status_code == 302
    exception = AvailabilityException.objects.get(clinic=clinic)
    assert exception.starts_at == day.replace(hour=9)
    starts = {slot.starts_at for slot in free_slots(clinic, service, day.date(), day.date())}
    assert day.replace(hour=12, minute=45) not in starts and day.replace(hour=13) in starts
    assert "Congresso" in editor_client.get(reverse("scheduling:exceptions")).content.decode()
    editor_client.post(reverse("scheduling:exception_remove", args=[exception.pk]))
    assert not AvailabilityException.objects.exists()


def test_time_off_needs_a_professional_and_an_ordered_range(editor_client, clinic, professional):
    from scheduling.models import AvailabilityException

    response = editor_client.post(reverse("scheduling:exceptions"), {
        "kind": "time_off", "starts": "2027-01-11T13:00", "ends": "2027-01-11T09:00"})
    assert response.status_code == 400
    assert not AvailabilityException.objects.exists()
    closure = editor_client.post(reverse("scheduling:exceptions"), {
        "kind": "closure", "starts": "2027-12-25T00:00", "ends": "2027-12-26T00:00", "reason": "Natal"})
    assert closure.status_code == 302
    assert AvailabilityException.objects.get().professional is None


# --- the agenda's time grid ------------------------------------------------------------------------------


def test_agenda_day_has_one_column_per_professional_with_working_time_open_and_the_rest_greyed(
        editor_client, clinic, service):
    day = upcoming(days=5, clinic=clinic).date()
    ana = ProfessionalFactory(clinic=clinic, name="Dr. Ana", services=[service],
                              hours=[(day.weekday(), "09:00", "12:00")])
    rui = ProfessionalFactory(clinic=clinic, name="Dr. Rui", services=[service],
                              hours=[(day.weekday(), "14:00", "18:00")])
    response = editor_client.get(reverse("scheduling:agenda"), {"date": day.isoformat()})
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('class="agenda-column') == 2
    new = reverse("scheduling:appointment_new")
    assert f"{new}?date={day.isoformat()}&amp;time=10%3A00&amp;professional={ana.pk}" in page
    assert f"time=10%3A00&amp;professional={rui.pk}" not in page  # Rui does not work in the morning
    assert f"time=15%3A00&amp;professional={rui.pk}" in page
    assert 'class="slot off' in page


def test_agenda_of_a_past_day_offers_no_time_to_book(editor_client, clinic, professional):
    yesterday = upcoming(days=-1, clinic=clinic).date()
    page = editor_client.get(reverse("scheduling:agenda"), {"date": yesterday.isoformat()}).content.decode()
    assert 'class="slot past' in page and 'class="slot open' not in page
    assert "That time has already passed" in page  # the message the grid shows on a click


def test_agenda_colours_each_service_and_marks_each_status(editor_client, clinic, professional):
    from scheduling.views import service_colours

    cleaning, surgery = ServiceFactory(clinic=clinic), ServiceFactory(clinic=clinic)
    professional.services.add(cleaning, surgery)
    AppointmentFactory(professional=professional, service=cleaning, starts_at=upcoming(hour=9, clinic=clinic))
    AppointmentFactory(professional=professional, service=surgery, starts_at=upcoming(hour=11, clinic=clinic),
                       status="confirmed")
    AppointmentFactory(professional=professional, service=surgery, starts_at=upcoming(hour=14, clinic=clinic),
                       status="cancelled")
    date = upcoming(clinic=clinic).date().isoformat()
    page = editor_client.get(reverse("scheduling:agenda"), {"date": date}).content.decode()
    colours = service_colours(clinic)
    assert colours[cleaning.pk] != colours[surgery.pk]
    assert f"--fill: {colours[cleaning.pk]['fill']}" in page and f"--fill: {colours[surgery.pk]['fill']}" in page
    assert "status-scheduled movable" in page and "status-confirmed movable" in page
    assert "appointment status-cancelled" not in page  # hidden unless asked for
    shown = editor_client.get(reverse("scheduling:agenda"), {"date": date, "cancelled": "1"}).content.decode()
    assert 'class="appointment status-cancelled"' in shown  # shown, and not draggable
    week = editor_client.get(reverse("scheduling:agenda"), {"date": date, "view": "week"}).content.decode()
    assert f"--fill: {colours[cleaning.pk]['fill']}" in week


@pytest.mark.parametrize("query", [{"date": "0001-01-01"}, {"date": "9999-12-31", "view": "week"},
                                   {"date": "2027-02-30"}, {"professional": "not-an-id", "cancelled": "yes"}])
def test_agenda_answers_odd_queries_with_a_page(editor_client, clinic, professional, query):
    assert editor_client.get(reverse("scheduling:agenda"), query).status_code == 200


def test_agenda_today_has_a_now_line(editor_client, clinic):
    ProfessionalFactory(clinic=clinic, hours=[(d, "00:00", "23:45") for d in range(7)])
    page = editor_client.get(reverse("scheduling:agenda")).content.decode()
    assert 'class="now-line"' in page


def test_viewer_sees_the_grid_without_booking_links_or_drag(viewer_client, clinic, professional, service):
    AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    page = viewer_client.get(reverse("scheduling:agenda"),
                             {"date": upcoming(clinic=clinic).date().isoformat()}).content.decode()
    assert '<a class="slot open' not in page and "movable" not in page and "10:00–10:30" in page


def test_a_free_time_opens_the_form_prefilled(editor_client, clinic, professional):
    day = upcoming(days=3, clinic=clinic).date()
    page = editor_client.get(reverse("scheduling:appointment_new"), {
        "date": day.isoformat(), "time": "10:15", "professional": str(professional.pk)}).content.decode()
    assert f'value="{day.isoformat()}"' in page and 'value="10:15"' in page
    assert f'<option value="{professional.pk}" selected>' in page
    today = upcoming(days=0, clinic=clinic).date()
    assert f'min="{today.isoformat()}"' in page


def test_console_refuses_a_past_time_beside_the_time_field(editor_client, clinic, professional, service):
    yesterday = upcoming(days=-1, clinic=clinic)
    response = editor_client.post(reverse("scheduling:appointment_new"), {
        "professional": professional.pk, "service": service.pk, "date": yesterday.date().isoformat(),
        "time": "10:00", "patient_name": "Carla Nunes", "patient_phone": "916 111 222"})
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["time"] == ["That time has already passed; please choose a later time."]
    assert not Appointment.objects.exists()


# --- the agenda's JSON move endpoint ---------------------------------------------------------------------


def _move(client, appointment, **body):
    return client.post(reverse("scheduling:appointment_move", args=[appointment.pk]), body,
                       content_type="application/json")


def test_move_reschedules_in_clinic_time_and_answers_the_new_times(editor_client, clinic, professional, service):
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    target = upcoming(days=3, hour=15, minute=30, clinic=clinic)
    response = _move(editor_client, appointment, date=target.date().isoformat(), time="15:30")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["time"], body["endTime"], body["date"]) == ("15:30", "16:00", target.date().isoformat())
    appointment.refresh_from_db()
    assert appointment.starts_at == target and appointment.ends_at == target + dt.timedelta(minutes=30)


def test_move_to_another_professionals_column(editor_client, clinic, professional, service):
    other = ProfessionalFactory(clinic=clinic, services=[service], hours=[(d, "00:00", "23:45") for d in range(7)])
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    response = _move(editor_client, appointment, date=upcoming(clinic=clinic).date().isoformat(), time="10:00",
                     professionalId=str(other.pk))
    assert response.status_code == 200
    appointment.refresh_from_db()
    assert appointment.professional == other


def test_refused_move_answers_the_reason_and_changes_nothing(editor_client, clinic, professional, service):
    starts = upcoming(clinic=clinic)
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=starts)
    AppointmentFactory(professional=professional, service=service, starts_at=starts.replace(hour=14))
    taken = _move(editor_client, appointment, date=starts.date().isoformat(), time="14:15")
    assert taken.status_code == 409
    assert taken.json()["code"] == "SLOT_TAKEN"
    assert taken.json()["message"] == "That time is no longer available; please choose another time."
    past = _move(editor_client, appointment, date=upcoming(days=-1, clinic=clinic).date().isoformat(), time="10:00")
    assert past.status_code == 422
    assert past.json()["code"] == "IN_THE_PAST" and "already passed" in past.json()["message"]
    appointment.refresh_from_db()
    assert appointment.starts_at == starts and appointment.professional == professional


def test_move_outside_working_hours_is_refused(editor_client, clinic, service):
    professional = ProfessionalFactory(clinic=clinic, services=[service],
                                       hours=[(d, "09:00", "12:00") for d in range(7)])
    starts = upcoming(clinic=clinic)
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=starts)
    response = _move(editor_client, appointment, date=starts.date().isoformat(), time="13:00")
    assert response.status_code == 422 and response.json()["code"] == "OUTSIDE_WORKING_HOURS"
    assert Appointment.objects.get(pk=appointment.pk).starts_at == starts


def test_move_of_another_clinics_appointment_is_404(editor_client, clinic, other_clinic):
    starts = upcoming(clinic=other_clinic)
    foreign = AppointmentFactory(professional=ProfessionalFactory(clinic=other_clinic), starts_at=starts)
    response = _move(editor_client, foreign, date=starts.date().isoformat(), time="15:00")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    assert Appointment.objects.get(pk=foreign.pk).starts_at == starts


def test_move_to_another_clinics_professional_is_refused(editor_client, clinic, other_clinic, professional,
                                                         service):
    starts = upcoming(clinic=clinic)
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=starts)
    foreign = ProfessionalFactory(clinic=other_clinic)
    response = _move(editor_client, appointment, date=starts.date().isoformat(), time="10:00",
                     professionalId=str(foreign.pk))
    assert response.status_code == 400 and response.json()["details"] == {"professionalId": "Unknown professional."}
    assert Appointment.objects.get(pk=appointment.pk).professional == professional


def test_viewer_cannot_move(viewer_client, clinic, professional, service):
    starts = upcoming(clinic=clinic)
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=starts)
    response = _move(viewer_client, appointment, date=starts.date().isoformat(), time="15:00")
    assert response.status_code == 403
    assert Appointment.objects.get(pk=appointment.pk).starts_at == starts


@pytest.mark.parametrize("body", [
    b"not json", b"[1, 2]", b'{"date": "31/01/2027", "time": "10:00"}', b'{"date": "2027-01-31", "time": "25:00"}',
    b'{"date": "9999-12-31", "time": "23:59"}', b'{"date": "2027-01-31"}',
    b'{"date": "2027-01-31", "time": "10:00", "professionalId": "x"}', b'{"date": "0001-01-01", "time": "00:00"}',
    b'{"date": 20270131, "time": ["10:00"]}'])
def test_move_with_bad_input_is_a_4xx_with_a_message(editor_client, clinic, professional, service, body):
    starts = upcoming(clinic=clinic)
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=starts)
    response = editor_client.post(reverse("scheduling:appointment_move", args=[appointment.pk]), body,
                                  content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response.json()["message"]
    assert Appointment.objects.get(pk=appointment.pk).starts_at == starts


def test_move_needs_post(editor_client, clinic, professional, service):
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    assert editor_client.get(reverse("scheduling:appointment_move", args=[appointment.pk])).status_code == 405


# --- the agenda's JSON resize endpoint -------------------------------------------------------------------


def _resize(client, appointment, **body):
    return client.post(reverse("scheduling:appointment_resize", args=[appointment.pk]), body,
                       content_type="application/json")


def test_resize_changes_the_end_in_clinic_time_and_answers_the_new_times(editor_client, clinic, professional,
                                                                         service):
    starts = upcoming(clinic=clinic)
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=starts)
    response = _resize(editor_client, appointment, endTime="11:15")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["time"], body["endTime"], body["minutes"]) == ("10:00", "11:15", 75)
    assert body["message"] == "Now ends at 11:15."
    appointment.refresh_from_db()
    assert appointment.starts_at == starts and appointment.ends_at == starts.replace(hour=11, minute=15)
    page = editor_client.get(reverse("scheduling:agenda"), {"date": starts.date().isoformat()}).content.decode()
    assert "10:00–11:15" in page and 'data-minutes="75"' in page


def test_refused_resize_answers_the_reason_and_changes_nothing(editor_client, clinic, professional, service):
    starts = upcoming(clinic=clinic)
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=starts)
    AppointmentFactory(professional=professional, service=service, starts_at=starts.replace(hour=11))
    taken = _resize(editor_client, appointment, endTime="11:30")
    assert taken.status_code == 409 and taken.json()["code"] == "SLOT_TAKEN"
    assert taken.json()["message"] == "That time is no longer available; please choose another time."
    too_short = _resize(editor_client, appointment, endTime="10:05")
    assert too_short.status_code == 400 and too_short.json()["details"] == {
        "endsAt": ["An appointment lasts at least 15 minutes."]}
    assert Appointment.objects.get(pk=appointment.pk).ends_at == starts.replace(minute=30)


def test_resize_past_working_hours_is_refused(editor_client, clinic, service):
    professional = ProfessionalFactory(clinic=clinic, services=[service],
                                       hours=[(d, "09:00", "12:00") for d in range(7)])
    starts = upcoming(hour=11, clinic=clinic)
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=starts)
    response = _resize(editor_client, appointment, endTime="12:30")
    assert response.status_code == 422 and response.json()["code"] == "OUTSIDE_WORKING_HOURS"
    assert Appointment.objects.get(pk=appointment.pk).ends_at == starts.replace(minute=30)


def test_resize_of_another_clinics_appointment_is_404_and_changes_nothing(editor_client, clinic, other_clinic):
    starts = upcoming(clinic=other_clinic)
    foreign = AppointmentFactory(professional=ProfessionalFactory(
        clinic=other_clinic, hours=[(d, "00:00", "23:45") for d in range(7)]), starts_at=starts)
    ends = foreign.ends_at
    response = _resize(editor_client, foreign, endTime="12:00")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    assert Appointment.objects.get(pk=foreign.pk).ends_at == ends


def test_viewer_cannot_resize(viewer_client, clinic, professional, service):
    starts = upcoming(clinic=clinic)
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=starts)
    response = _resize(viewer_client, appointment, endTime="12:00")
    assert response.status_code == 403
    assert Appointment.objects.get(pk=appointment.pk).ends_at == starts.replace(minute=30)


@pytest.mark.parametrize("body", [
    b"not json", b"[1]", b"{}", b'{"endTime": "25:00"}', b'{"endTime": "10:5"}', b'{"endTime": "24:01"}',
    b'{"endTime": 1100}', b'{"endTime": "11:00:00"}', b'{"endTime": "\u0661\u0661:00"}'])
def test_resize_with_bad_input_is_a_4xx_with_a_message(editor_client, clinic, professional, service, body):
    starts = upcoming(clinic=clinic)
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=starts)
    response = editor_client.post(reverse("scheduling:appointment_resize", args=[appointment.pk]), body,
                                  content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"]
    assert Appointment.objects.get(pk=appointment.pk).ends_at == starts.replace(minute=30)


def test_resize_to_midnight_ends_at_the_start_of_the_next_day(editor_client, clinic, service):
    professional = ProfessionalFactory(clinic=clinic, services=[service],
                                       hours=[(d, "09:00", "18:00") for d in range(7)])
    starts = upcoming(hour=23, clinic=clinic)
    evening = starts.replace(hour=22)
    AvailabilityExceptionFactory(professional=professional, kind=AvailabilityException.Kind.EXTRA_HOURS,
                                 starts_at=evening, ends_at=evening + dt.timedelta(hours=3))
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=starts)
    response = _resize(editor_client, appointment, endTime="24:00")
    assert response.status_code == 200, response.content
    assert Appointment.objects.get(pk=appointment.pk).ends_at == starts + dt.timedelta(hours=1)


def test_resize_needs_post(editor_client, clinic, professional, service):
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    assert editor_client.get(reverse("scheduling:appointment_resize", args=[appointment.pk])).status_code == 405


def test_overlapping_appointments_of_a_week_column_sit_side_by_side(editor_client, clinic, professional, service):
    other = ProfessionalFactory(clinic=clinic, services=[service], hours=[(d, "00:00", "23:45") for d in range(7)])
    starts = upcoming(clinic=clinic)
    AppointmentFactory(professional=professional, service=service, starts_at=starts)
    AppointmentFactory(professional=other, service=service, starts_at=starts.replace(minute=15))
    AppointmentFactory(professional=other, service=service, starts_at=starts.replace(hour=15))
    page = editor_client.get(reverse("scheduling:agenda"),
                             {"date": starts.date().isoformat(), "view": "week"}).content.decode()
    assert page.count("--lane: 0; --lanes: 2;") == 1 and page.count("--lane: 1; --lanes: 2;") == 1
    assert page.count("--lane: 0; --lanes: 1;") == 1  # the 15:00 one alone has the whole width
