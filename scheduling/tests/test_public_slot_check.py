"""`/booking/<slug>/check`: the booking page asks whether a time is still free before it sends the booking."""
import datetime as dt

import pytest

from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import AppointmentFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def test_a_free_time_is_free_and_a_taken_one_is_not(client, clinic, professional, service):
    starts = upcoming(days=2, clinic=clinic)
    url = f"/booking/{clinic.slug}/check"
    params = {"serviceId": str(service.pk), "startsAt": starts.isoformat()}
    assert client.get(url, params).json() == {"free": True}
    AppointmentFactory(professional=professional, service=service, starts_at=starts)
    assert client.get(url, params).json() == {"free": False}
    assert client.get(url, {**params, "professionalId": str(professional.pk)}).json() == {"free": False}
    later = {**params, "startsAt": (starts + dt.timedelta(hours=1)).isoformat()}
    assert client.get(url, later).json() == {"free": True}


def test_bad_input_gets_the_public_error_and_another_clinics_service_is_404(client, clinic, other_clinic,
                                                                           professional, service):
    url = f"/booking/{clinic.slug}/check"
    for params in ({}, {"serviceId": str(service.pk)}, {"serviceId": str(service.pk), "startsAt": "noon"},
                   {"serviceId": str(service.pk), "startsAt": "2027-01-01T10:00:00"}):
        response = client.get(url, params)
        assert response.status_code == 400 and response.json()["code"] == "VALIDATION_ERROR"
    foreign = ServiceFactory(clinic=other_clinic)
    starts = upcoming(days=2, clinic=clinic).isoformat()
    response = client.get(url, {"serviceId": str(foreign.pk), "startsAt": starts})
    assert response.status_code == 404 and response.json()["code"]
    assert client.get(f"/booking/{other_clinic.slug}/check",
                      {"serviceId": str(service.pk), "startsAt": starts}).status_code == 404
