"""The demo seed gives a bookable clinic, and running it again duplicates nothing."""
import pytest
from django.core.management import call_command

from scheduling.models import Appointment, Patient, Professional, Service

pytestmark = pytest.mark.django_db


def test_seed_demo_makes_a_bookable_clinic_once(client):
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)

    assert Professional.objects.filter(clinic__slug="demo").count() == 2
    assert Service.objects.filter(clinic__slug="demo").count() == 3
    assert Patient.objects.filter(clinic__slug="demo").count() == 3
    assert Appointment.objects.filter(clinic__slug="demo").count() == 3
    body = client.get("/booking/demo").json()
    assert {service["name"] for service in body["services"]} >= {"Consulta de clínica geral"}
    assert len(body["professionals"]) == 2
