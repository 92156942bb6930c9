"""The console's home through the Django test client: today's appointments per professional with check-in and
no-show (through `scheduling.services.appointment_attendance_record`), calls waiting and callbacks, 30 days of
activity; masking for viewers; another clinic's rows never shown or changed."""
import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.home import activity_by_day
from clinics.models import AuditEvent, Membership
from clinics.tests.factories import ClinicFactory, MembershipFactory, sign_in_verified
from scheduling.models import Appointment
from scheduling.selectors import clinic_zone, local_midnight
from scheduling.tests.factories import AppointmentFactory, PatientFactory, ProfessionalFactory
from telephony.models import Call
from telephony.tests.factories import CallFactory

pytestmark = pytest.mark.django_db


def _member(client, clinic, role):
    membership = MembershipFactory(clinic=clinic, role=role)
    return sign_in_verified(client, membership.user)


def _today_at(clinic, hour):
    zone = clinic_zone(clinic)
    return local_midnight(timezone.now().astimezone(zone).date(), zone) + dt.timedelta(hours=hour)


def _appointment(clinic, professional, hour, name, **kwargs):
    return AppointmentFactory(professional=professional, starts_at=_today_at(clinic, hour),
                              patient=PatientFactory(clinic=clinic, name=name), **kwargs)


@pytest.fixture
def day(clinic):
    ana = ProfessionalFactory(clinic=clinic, name="Dra. Ana Sousa")
    rui = ProfessionalFactory(clinic=clinic, name="Dr. Rui Costa")
    return {
        "ana": ana, "rui": rui,
        "maria": _appointment(clinic, ana, 9, "Maria Antunes"),
        "joao": _appointment(clinic, rui, 10, "João Pereira"),
        "cancelled": _appointment(clinic, ana, 11, "Carla Cancelada", status=Appointment.Status.CANCELLED),
        "tomorrow": _appointment(clinic, ana, 33, "Tiago Amanhã"),
        "waiting": CallFactory(clinic=clinic, status=Call.Status.IN_PROGRESS, phone_number="+351911111111"),
        "callback": CallFactory(clinic=clinic, direction=Call.Direction.OUTBOUND, status=Call.Status.SCHEDULED,
                                phone_number="+351922222222", scheduled_at=timezone.now() + dt.timedelta(hours=2)),
    }


def test_home_lists_todays_appointments_per_professional_and_the_calls_waiting_in_bounded_queries(
        client, clinic, day, django_assert_max_num_queries):
    other = ClinicFactory()
    _appointment(other, ProfessionalFactory(clinic=other, name="Dr. Outro"), 9, "Paciente Alheio")
    CallFactory(clinic=other, status=Call.Status.IN_PROGRESS, phone_number="+351933333333")
    _member(client, clinic, Membership.Role.EDITOR)
    # Sign-in (session, user, device, memberships) 4, the day 1, open calls 1, 30 days per day 3,
    # dashboard_stats 5, the audit row 1: the same whatever the number of appointments and calls.
    with django_assert_max_num_queries(15):
        response = client.get(reverse("console:home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Dr. Rui Costa") < html.index("João Pereira")
    assert html.index("Dra. Ana Sousa") < html.index("Maria Antunes")
    assert "Carla Cancelada" not in html and "Tiago Amanhã" not in html
    assert "Paciente Alheio" not in html and "Dr. Outro" not in html and "933333333" not in html
    assert "+351911111111" in html and "+351922222222" in html
    assert html.count(reverse("scheduling:appointment_attendance", args=[day["maria"].pk])) == 2
    activity = json.loads(html.split('id="activity-data" type="application/json">')[1].split("</script>")[0])
    assert len(activity["labels"]) == 30 and activity["labels"][-1] == timezone.now().astimezone(
        clinic_zone(clinic)).date().isoformat()
    assert "vendor/chartjs/chart.umd.js" in html and "cdn" not in html.lower()
    assert AuditEvent.objects.filter(clinic=clinic, action="patient.list", extra__appointments=2).exists()


def test_check_in_and_no_show_change_the_status_once_and_are_audited(client, clinic, day):
    _member(client, clinic, Membership.Role.EDITOR)
    url = reverse("scheduling:appointment_attendance", args=[day["maria"].pk])
    assert client.post(url, {"attended": "1"}).status_code == 302
    client.post(reverse("scheduling:appointment_attendance", args=[day["joao"].pk]), {"attended": "0"})
    day["maria"].refresh_from_db()
    day["joao"].refresh_from_db()
    assert day["maria"].status == Appointment.Status.COMPLETED
    assert day["joao"].status == Appointment.Status.NO_SHOW
    assert AuditEvent.objects.filter(clinic=clinic, action="appointment.status",
                                     object_id=str(day["maria"].pk)).count() == 1

    response = client.post(url, {"attended": "0"}, follow=True)
    day["maria"].refresh_from_db()
    assert day["maria"].status == Appointment.Status.COMPLETED
    assert "Only scheduled or confirmed appointments" in response.content.decode()
    assert "Checked in" in response.content.decode()


def test_attendance_without_a_choice_is_a_400_and_changes_nothing(client, clinic, day):
    _member(client, clinic, Membership.Role.EDITOR)
    response = client.post(reverse("scheduling:appointment_attendance", args=[day["maria"].pk]), {"attended": "x"})
    assert response.status_code == 400
    day["maria"].refresh_from_db()
    assert day["maria"].status == Appointment.Status.SCHEDULED


def test_another_clinics_appointment_cannot_be_checked_in(client, clinic, day):
    _member(client, ClinicFactory(), Membership.Role.ADMIN)
    response = client.post(reverse("scheduling:appointment_attendance", args=[day["maria"].pk]), {"attended": "1"})
    assert response.status_code == 404
    day["maria"].refresh_from_db()
    assert day["maria"].status == Appointment.Status.SCHEDULED


def test_a_viewer_sees_masked_names_and_phones_and_no_attendance_buttons(client, clinic, day):
    _member(client, clinic, Membership.Role.VIEWER)
    html = client.get(reverse("console:home")).content.decode()
    assert "Maria Antunes" not in html and "M. A." in html
    assert "911111111" not in html
    assert reverse("scheduling:appointment_attendance", args=[day["maria"].pk]) not in html
    response = client.post(reverse("scheduling:appointment_attendance", args=[day["maria"].pk]), {"attended": "1"})
    assert response.status_code == 403
    day["maria"].refresh_from_db()
    assert day["maria"].status == Appointment.Status.SCHEDULED


def test_activity_counts_bookings_calls_and_no_shows_on_the_clinics_calendar_days(clinic):
    zone = clinic_zone(clinic)
    first = timezone.now().astimezone(zone).date() - dt.timedelta(days=29)
    late_evening = local_midnight(first + dt.timedelta(days=2), zone) - dt.timedelta(minutes=30)
    professional = ProfessionalFactory(clinic=clinic)
    AppointmentFactory(professional=professional, starts_at=late_evening, created_at=late_evening,
                       status=Appointment.Status.NO_SHOW)
    CallFactory(clinic=clinic, created_at=late_evening)
    other = ClinicFactory()
    CallFactory(clinic=other, created_at=late_evening)
    activity = activity_by_day(clinic, start_day=first)
    # 23:30 local on the second day, whatever the UTC date is.
    assert activity["bookings"][1] == 1 and activity["calls"][1] == 1 and activity["noShows"][1] == 1
    assert sum(activity["bookings"]) == sum(activity["calls"]) == sum(activity["noShows"]) == 1
