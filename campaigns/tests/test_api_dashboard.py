"""GET /v1/dashboard/stats: calls, bookings, conversion, NPS and no-shows in a bounded number of queries."""
import datetime as dt

import pytest

from campaigns import selectors
from campaigns.models import FeedbackResponse
from campaigns.tests.factories import AppointmentFactory, EngagementProfessionalFactory
from scheduling.models import Appointment
from telephony.tests.factories import CallFactory

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc
DAY = dt.datetime(2026, 11, 10, 10, 0, tzinfo=UTC)


def _appointment(clinic, status=Appointment.Status.COMPLETED, **kwargs):
    kwargs.setdefault("starts_at", DAY)
    return AppointmentFactory(clinic=clinic, created_at=DAY - dt.timedelta(days=1), status=status, **kwargs)


def test_stats_count_calls_bookings_conversion_nps_and_no_shows(clinic, client_for):
    professional = EngagementProfessionalFactory(clinic=clinic, name="Ana")
    done = _appointment(clinic, professional=professional)
    _appointment(clinic, status=Appointment.Status.NO_SHOW, professional=professional,
                 starts_at=DAY + dt.timedelta(hours=1))
    _appointment(clinic, status=Appointment.Status.SCHEDULED, professional=professional,
                 starts_at=DAY + dt.timedelta(hours=2), source=Appointment.Source.PHONE_AGENT)
    FeedbackResponse.objects.create(clinic=clinic, appointment=done, professional=professional, score=10,
                                    submitted_at=DAY)
    for _ in range(6):
        CallFactory(clinic=clinic, created_at=DAY)
    CallFactory(clinic=clinic, created_at=DAY - dt.timedelta(days=60))  # outside the period

    response = client_for.get("/v1/dashboard/stats", {"from": "2026-11-01", "to": "2026-11-30"})

    assert response.status_code == 200
    stats = response.json()
    assert stats["calls"] == 6
    assert stats["bookings"] == 3 and stats["phoneBookings"] == 1
    assert stats["conversion"] == 0.5
    assert stats["noShows"] == 1 and stats["completed"] == 1 and stats["noShowRate"] == 0.5
    assert stats["nps"]["score"] == 100 and stats["nps"]["responses"] == 1
    assert stats["npsByProfessional"] == [{"professionalId": str(professional.id), "name": "Ana", "score": 100,
                                           "responses": 1, "promoters": 1, "passives": 0, "detractors": 0}]


def test_stats_without_calls_have_no_conversion(clinic, client_for):
    stats = client_for.get("/v1/dashboard/stats", {"from": "2026-11-01", "to": "2026-11-30"}).json()
    assert stats["calls"] == 0 and stats["conversion"] is None and stats["nps"]["score"] is None


@pytest.mark.parametrize("professionals", [1, 8])
def test_stats_take_a_bounded_number_of_queries(clinic, client_for, django_assert_max_num_queries, professionals):
    for _ in range(professionals):
        professional = EngagementProfessionalFactory(clinic=clinic)
        done = _appointment(clinic, professional=professional)
        FeedbackResponse.objects.create(clinic=clinic, appointment=done, professional=professional, score=9,
                                        submitted_at=DAY)
        CallFactory(clinic=clinic, created_at=DAY)
    with django_assert_max_num_queries(5):
        stats = selectors.dashboard_stats(clinic, DAY - dt.timedelta(days=9), DAY + dt.timedelta(days=20))
    assert len(stats["npsByProfessional"]) == professionals
    # Through HTTP: the same five plus authentication and the API usage meter, whatever the data.
    with django_assert_max_num_queries(12):
        response = client_for.get("/v1/dashboard/stats", {"from": "2026-11-01", "to": "2026-11-30"})
    assert len(response.json()["npsByProfessional"]) == professionals


def test_stats_of_another_clinic_are_not_mixed_in(clinic, foreign_client):
    _appointment(clinic)
    CallFactory(clinic=clinic, created_at=DAY)
    stats = foreign_client.get("/v1/dashboard/stats", {"from": "2026-11-01", "to": "2026-11-30"}).json()
    assert stats["calls"] == 0 and stats["bookings"] == 0


@pytest.mark.parametrize("params", [{"from": "yesterday"}, {"from": "2026-11-30", "to": "2026-11-01"},
                                    {"from": "2020-01-01", "to": "2026-01-01"}])
def test_bad_period_gets_v1_error_body(client_for, params):
    response = client_for.get("/v1/dashboard/stats", params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_stats_need_credentials(api_client):
    assert api_client.get("/v1/dashboard/stats").status_code == 401
