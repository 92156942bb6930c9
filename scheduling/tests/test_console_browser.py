"""In Chromium: the console's new-appointment form offers the patients who share the phone typed, and books the
one picked (or a new patient when staff keep "New patient")."""

import pytest
from django.urls import reverse

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory
from scheduling.models import Appointment, Patient
from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import PatientFactory, ProfessionalFactory, ServiceFactory

pytestmark = [pytest.mark.browser]




def test_staff_pick_one_of_the_patients_sharing_a_phone(transactional_db, live_server, client, clinic, chromium):
    member = MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR)
    client.force_login(member.user)
    service = ServiceFactory(clinic=clinic, name="Consulta geral")
    professional = ProfessionalFactory(clinic=clinic, services=[service],
                                       hours=[(d, "00:00", "23:45") for d in range(7)])
    maria = PatientFactory(clinic=clinic, name="Maria da Silva", phone="+351912345678")
    rui = PatientFactory(clinic=clinic, name="Rui da Silva", phone="+351912345678")
    starts = upcoming(days=3, hour=11, clinic=clinic)

    context = chromium.new_context(base_url=live_server.url, locale="en-GB")
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(reverse("scheduling:appointment_new"))
        page.select_option("#id_professional", str(professional.pk))
        page.select_option("#id_service", str(service.pk))
        page.fill("#id_date", starts.date().isoformat())
        page.fill("#id_time", "11:00")
        page.fill("#id_patient_phone", "912 345 678")
        page.get_by_label("Rui da Silva").wait_for()
        assert page.get_by_label("Maria da Silva").is_visible()
        assert page.get_by_label("New patient (the name typed below)").is_checked()
        page.get_by_label("Rui da Silva").check()
        page.click("#appointment-form button[type=submit]")
        page.wait_for_url(lambda url: "/new/" not in url)
    finally:
        context.close()

    appointment = Appointment.objects.get()
    assert appointment.patient == rui and appointment.starts_at == starts
    assert Patient.objects.filter(clinic=clinic).count() == 2
    maria.refresh_from_db()
    assert maria.name == "Maria da Silva"
