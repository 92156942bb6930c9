"""Call analytics on the dashboard API (docs/api/dashboard.md): stats, conversations, one conversation."""
import datetime as dt
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory, ServiceFactory
from telephony.agents import agent_for
from telephony.models import Call

from .factories import CallFactory

DOCUMENTED_STATS_KEYS = {"days", "total_calls", "total_minutes", "average_duration", "successful_calls",
                         "failed_calls", "appointments_booked", "sentiment_breakdown", "intent_breakdown"}

pytestmark = pytest.mark.django_db


def test_stats_take_the_same_queries_whatever_the_number_of_calls(client_for, clinic):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    CallFactory(clinic=clinic)
    client_for.get("/api/analytics/stats")
    with CaptureQueriesContext(connection) as few:
        client_for.get("/api/analytics/stats")
    for index in range(15):
        CallFactory(clinic=clinic, sentiment=f"s{index}", intent=f"i{index}")
    with CaptureQueriesContext(connection) as many:
        assert client_for.get("/api/analytics/stats").json()["total_calls"] == 16

    assert len(many) == len(few)
    telephony_queries = [q for q in many.captured_queries if "telephony_call" in q["sql"]]
    assert len(telephony_queries) == 3


def test_stats_aggregate_the_window(client_for, clinic, other_clinic):
    CallFactory(clinic=clinic, duration_secs=120, sentiment="positive", intent="appointment")
    CallFactory(clinic=clinic, duration_secs=180, sentiment="positive", intent="question")
    CallFactory(clinic=clinic, duration_secs=60, sentiment="negative", intent="complaint", call_successful="failure")
    CallFactory(clinic=clinic, duration_secs=600, created_at=timezone.now() - timedelta(days=10))
    CallFactory(clinic=other_clinic, duration_secs=999)

    response = client_for.get("/api/analytics/stats", {"days": 7})

    assert response.status_code == 200
    body = response.json()
    assert body["total_calls"] == 3
    assert body["total_minutes"] == 6
    assert body["average_duration"] == 120
    assert body["successful_calls"] == 2
    assert body["failed_calls"] == 1
    assert body["sentiment_breakdown"] == {"positive": 2, "neutral": 0, "negative": 1}
    assert body["intent_breakdown"] == {"appointment": 1, "question": 1, "complaint": 1}


def test_stats_default_to_seven_days(client_for, clinic):
    CallFactory(clinic=clinic, created_at=timezone.now() - timedelta(days=6))
    CallFactory(clinic=clinic, created_at=timezone.now() - timedelta(days=8))

    body = client_for.get("/api/analytics/stats").json()

    assert body["total_calls"] == 1


def test_stats_of_an_empty_clinic_are_zero(foreign_client, clinic):
    CallFactory(clinic=clinic)

    body = foreign_client.get("/api/analytics/stats").json()

    assert body == {"days": 7, "total_calls": 0, "total_minutes": 0, "average_duration": 0, "successful_calls": 0,
                    "failed_calls": 0, "appointments_booked": 0,
                    "sentiment_breakdown": {"positive": 0, "neutral": 0, "negative": 0},
                    "intent_breakdown": {"appointment": 0, "question": 0, "complaint": 0}}


@pytest.mark.parametrize("days", ["0", "abc", "-3"])
def test_stats_with_bad_days_is_400_detail(client_for, days):
    response = client_for.get("/api/analytics/stats", {"days": days})

    assert response.status_code == 400
    assert "days" in response.json()["detail"]


def test_conversations_page_with_documented_fields(client_for, clinic):
    now = timezone.now()
    conversations = [CallFactory(clinic=clinic, created_at=now - timedelta(minutes=index)) for index in range(3)]
    CallFactory(clinic=clinic, conversation_id=None, direction=Call.Direction.OUTBOUND, status=Call.Status.SCHEDULED)

    body = client_for.get("/api/analytics/conversations", {"page": 1, "per_page": 2}).json()

    assert body["total"] == 3 and body["page"] == 1 and body["per_page"] == 2
    assert [row["conversation_id"] for row in body["conversations"]] == [
        call.conversation_id for call in conversations[:2]]
    assert set(body["conversations"][0]) == {"id", "conversation_id", "duration_secs", "call_successful", "summary",
                                             "title", "sentiment", "intent", "created_at"}


def test_conversations_of_another_clinic_are_hidden(foreign_client, clinic):
    CallFactory(clinic=clinic)
    assert foreign_client.get("/api/analytics/conversations").json()["conversations"] == []


def test_conversations_bad_page_is_400(client_for):
    response = client_for.get("/api/analytics/conversations", {"page": "x"})
    assert response.status_code == 400
    assert response.json()["detail"]


def test_conversation_detail_has_documented_fields(client_for, clinic):
    call = CallFactory(clinic=clinic, conversation_id="conv_abc123",
                       webhook_payload={"type": "post_call_transcription", "data": {"conversation_id": "conv_abc123"}})

    response = client_for.get("/api/analytics/conversation/conv_abc123")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(call.id)
    assert body["conversation_id"] == "conv_abc123"
    assert body["agent_id"] == "agent_clinic_receptionist"
    assert body["end_user_id"] == "+351912345678"
    assert body["webhook_payload"]["type"] == "post_call_transcription"
    for field in ("duration_secs", "call_successful", "summary", "title", "sentiment", "intent", "created_at"):
        assert field in body


def test_conversation_detail_of_another_clinic_is_404(foreign_client, clinic):
    CallFactory(clinic=clinic, conversation_id="conv_private")

    response = foreign_client.get("/api/analytics/conversation/conv_private")

    assert response.status_code == 404
    assert response.json()["detail"]


def test_stats_answer_every_documented_key_when_counts_are_zero(client_for, clinic):
    CallFactory(clinic=clinic, duration_secs=60, sentiment="positive", intent="question", call_successful="success")

    body = client_for.get("/api/analytics/stats", {"days": 7}).json()

    assert set(body) == DOCUMENTED_STATS_KEYS
    assert body["failed_calls"] == 0 and body["appointments_booked"] == 0
    assert body["sentiment_breakdown"] == {"positive": 1, "neutral": 0, "negative": 0}
    assert body["intent_breakdown"] == {"appointment": 0, "question": 1, "complaint": 0}


def test_stats_count_the_appointment_the_phone_agent_booked(client_for, clinic, other_clinic):
    lisbon = ZoneInfo("Europe/Lisbon")
    service = ServiceFactory(clinic=clinic, duration_minutes=30)
    professional = ProfessionalFactory(clinic=clinic, services=[service],
                                       hours=[(day, "09:00", "11:00") for day in range(7)])
    agent = agent_for(clinic)
    agent_client = APIClient()
    agent_client.credentials(HTTP_X_AGENT_TOKEN=agent.token_encrypted)
    day = (dt.datetime.now(lisbon) + dt.timedelta(days=4)).date()
    booked = agent_client.post(f"/api/agent-actions/book-appointment/{agent.agent_id}", {
        "patient_name": "John Doe", "patient_phone": "+351912345678", "date": day.isoformat(), "time": "10:00",
        "duration_minutes": 30}, format="json")
    assert booked.status_code == 201, booked.content
    # Booked by staff, or by another clinic's agent: not this clinic's phone agent.
    AppointmentFactory(professional=professional, service=service, source="staff",
                       starts_at=dt.datetime.combine(day, dt.time(9), tzinfo=lisbon))
    AppointmentFactory(professional__clinic=other_clinic, source="phone_agent",
                       starts_at=dt.datetime.combine(day, dt.time(9), tzinfo=lisbon))

    body = client_for.get("/api/analytics/stats", {"days": 7}).json()

    assert body["appointments_booked"] == 1
