"""The public booking page in Chromium: service → day → slot → name and phone → confirmation."""
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_patient_books_an_appointment_on_the_public_page(page):
    from clinics.tests.factories import ClinicFactory
    from scheduling.models import Appointment
    from scheduling.tests.conftest import upcoming
    from scheduling.tests.factories import ProfessionalFactory, ServiceFactory
    from telephony.models import Message

    clinic = ClinicFactory(name="Clínica do Rio")
    service = ServiceFactory(clinic=clinic, name="Consulta de rotina", duration_minutes=30)
    professional = ProfessionalFactory(clinic=clinic, name="Dra. Inês Matos", services=[service],
                                       hours=[(d, "09:00", "12:00") for d in range(7)])
    day = upcoming(days=3, clinic=clinic).date()

    page.goto(f"/booking/{clinic.slug}")
    assert page.get_by_role("heading", level=1).inner_text() == "Clínica do Rio"
    page.locator(f"input[name=serviceId][value='{service.pk}']").check()
    page.get_by_label("Date").fill(day.isoformat())
    page.locator("#slots button").first.wait_for()
    assert page.locator("#slots button").first.inner_text() == "09:00"
    page.locator("#slots button", has_text="10:30").click()
    page.get_by_label("Name").fill("Tomás Ribeiro")
    page.get_by_label("Mobile phone").fill("912 555 666")
    page.get_by_role("button", name="Book").click()

    page.get_by_role("heading", name="Your appointment is booked").wait_for()
    assert "Dra. Inês Matos" in page.locator("#confirmation-text").inner_text()
    appointment = Appointment.objects.get(professional=professional)
    assert appointment.starts_at == upcoming(days=3, hour=10, minute=30, clinic=clinic)
    assert appointment.source == "online" and appointment.patient.phone == "+351912555666"
    assert Message.objects.filter(clinic=clinic, purpose="booking_confirmation").count() == 1
