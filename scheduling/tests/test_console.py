"""Scheduling console pages through the Django test client: agenda, appointments, professionals, services."""
import datetime as dt

import pytest
from django.urls import reverse

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory, UserFactory
from scheduling.models import Appointment, Professional, Service, WorkingHours
from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory, ServiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("scheduling.tests.urls_console")]


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
    editor_client.post(reverse("scheduling:appointment_cancel", args=[appointment.pk]))
    assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"


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
    assert 'value="09:00-18:00"' in new_page
    response = editor_client.post(reverse("scheduling:professional_new"), {
        "name": "Dr. Rui Alves", "specialty": "Dermatologia", "colour": "#112233", "active": "on",
        "services": [service.pk], "hours_mon": "09:00-13:00, 14:00-18:00", "hours_wed": "10:00-12:00"})
    assert response.status_code == 302, response.content.decode()[:3000]
    professional = Professional.objects.get(name="Dr. Rui Alves")
    assert list(professional.services.all()) == [service]
    assert list(WorkingHours.objects.filter(professional=professional).values_list("weekday", "start", "end")) == [
        (0, dt.time(9), dt.time(13)), (0, dt.time(14), dt.time(18)), (2, dt.time(10), dt.time(12))]
    bad = editor_client.post(reverse("scheduling:professional_edit", args=[professional.pk]), {
        "name": "Dr. Rui Alves", "colour": "#112233", "hours_mon": "18:00-09:00"})
    assert bad.status_code == 400
    assert WorkingHours.objects.filter(professional=professional).count() == 3


def test_service_form_creates_edits_and_removes(editor_client, clinic):
    response = editor_client.post(reverse("scheduling:service_new"), {
        "name": "Vacinação", "duration_minutes": 15, "price": 2500, "currency": "EUR",
        "buffer_before_minutes": 0, "buffer_after_minutes": 5, "online_bookable": "on", "active": "on"})
    assert response.status_code == 302
    service = Service.objects.get(clinic=clinic, name="Vacinação")
    assert (service.duration_minutes, service.buffer_after_minutes) == (15, 5)
    editor_client.post(reverse("scheduling:service_edit", args=[service.pk]), {
        "name": "Vacinação", "duration_minutes": 20, "price": 2500, "currency": "EUR",
        "buffer_before_minutes": 0, "buffer_after_minutes": 5, "active": "on"})
    service.refresh_from_db()
    assert (service.duration_minutes, service.online_bookable) == (20, False)
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
