"""Tasks on the voice API (docs/api/voice.md): follow-ups for staff or the phone agent."""
import datetime as dt

import pytest
from django.utils import timezone

from campaigns.models import Task
from campaigns.tests.factories import EngagementPatientFactory, TaskFactory
from clinics.models import Membership
from clinics.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_create_task_for_a_member_about_a_contact(clinic, client_for):
    member = MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR)
    patient = EngagementPatientFactory(clinic=clinic)
    due = timezone.now() + dt.timedelta(days=1)

    response = client_for.post("/api/v1/tasks", {
        "title": "Enviar resultados", "description": "Análises de sangue", "contactId": patient.hash,
        "dueAt": due.isoformat(), "assignee": str(member.id)}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    task = body["data"]
    assert task["title"] == "Enviar resultados" and task["contactId"] == patient.hash
    assert task["assignee"] == str(member.id) and task["status"] == "open"
    assert set(task) >= {"id", "title", "description", "contactId", "dueAt", "assignee", "status", "createdAt"}
    assert Task.objects.get(pk=task["id"]).clinic == clinic


def test_create_task_for_the_phone_agent(client_for):
    response = client_for.post("/api/v1/tasks", {"title": "Ligar de volta", "assignee": "phone_agent"},
                               format="json")
    assert response.status_code == 201
    assert response.json()["data"]["assignee"] == "phone_agent"
    assert Task.objects.get().assigned_to_phone_agent is True


def test_list_filters_by_status_and_due_before(clinic, client_for):
    now = timezone.now()
    soon = TaskFactory(clinic=clinic, due_at=now + dt.timedelta(hours=2))
    TaskFactory(clinic=clinic, due_at=now + dt.timedelta(days=5))
    TaskFactory(clinic=clinic, due_at=now + dt.timedelta(hours=1), status=Task.Status.DONE)

    body = client_for.get("/api/v1/tasks", {"status": "open",
                                            "due_before": (now + dt.timedelta(days=1)).isoformat()}).json()

    assert body["success"] is True
    assert [task["id"] for task in body["data"]] == [str(soon.id)]
    assert body["meta"]["total"] == 1
    assert len(client_for.get("/api/v1/tasks").json()["data"]) == 3


def test_tasks_of_another_clinic_are_invisible_and_their_people_unknown(clinic, client_for, foreign_client):
    TaskFactory(clinic=clinic)
    patient = EngagementPatientFactory(clinic=clinic)
    member = MembershipFactory(clinic=clinic)
    assert foreign_client.get("/api/v1/tasks").json()["data"] == []
    response = foreign_client.post("/api/v1/tasks", {"title": "x", "contactId": patient.hash}, format="json")
    assert response.status_code == 400 and "contactId" in response.json()["errors"]
    response = foreign_client.post("/api/v1/tasks", {"title": "x", "assignee": str(member.id)}, format="json")
    assert response.status_code == 400 and "assignee" in response.json()["errors"]


@pytest.mark.parametrize("payload", [{}, {"title": ""}, {"title": "x", "status": "maybe"},
                                     {"title": "x", "dueAt": "tomorrow"}, {"title": "x", "assignee": "bob"}])
def test_bad_task_gets_voice_error_body(client_for, payload):
    response = client_for.post("/api/v1/tasks", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["data"] is None and body["message"]


@pytest.mark.parametrize("params", [{"status": "maybe"}, {"due_before": "soon"}])
def test_bad_task_filter_gets_voice_error_body(client_for, params):
    response = client_for.get("/api/v1/tasks", params)
    assert response.status_code == 400
    assert response.json()["success"] is False
