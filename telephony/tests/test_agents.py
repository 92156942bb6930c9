"""The phone agent on the dashboard: one per clinic, renamed, its token shown to admins and rotated."""
import pytest
from rest_framework.test import APIClient

from clinics import selectors as clinic_selectors
from clinics.models import Membership
from clinics.tests.factories import ClinicFactory
from telephony.agents import agent_for
from telephony.models import Agent
from clinics.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_get_agents_creates_the_clinics_agent_once_in_the_documented_shape(client_for, clinic):
    first = client_for.get("/api/agents")
    second = client_for.get("/api/agents")
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"id", "agent_id", "agent_name", "status", "elevenlabs_metadata", "created_at"}
    assert body["agent_id"] == "agent_" + clinic.slug.replace("-", "_")
    assert body["agent_name"] == f"{clinic.name} Agent"
    assert body["status"] == "active"
    assert second.json()["id"] == body["id"]
    assert Agent.objects.filter(clinic=clinic).count() == 1
    assert "token" not in first.content.decode()


def test_login_agent_summary_reads_the_agent_model(clinic):
    agent = agent_for(clinic)
    agent.agent_name = "Sofia"
    agent.save()
    assert clinic_selectors.agent_summary(clinic) == {"agent_id": agent.agent_id, "agent_name": "Sofia",
                                                      "status": "active"}


def test_put_agent_renames_it(client_for, clinic):
    agent = agent_for(clinic)
    response = client_for.put(f"/api/agents/{agent.agent_id}", {"agent_name": "Updated Agent Name",
                                                                 "elevenlabs_metadata": {"agent_id": "el_123"}},
                              format="json")
    assert response.status_code == 200
    assert response.json()["agent_name"] == "Updated Agent Name"
    agent.refresh_from_db()
    assert agent.agent_name == "Updated Agent Name"
    assert agent.elevenlabs_metadata == {"agent_id": "el_123"}


def test_put_agent_with_bad_status_answers_400_detail(client_for, clinic):
    agent = agent_for(clinic)
    response = client_for.put(f"/api/agents/{agent.agent_id}", {"status": "dancing"}, format="json")
    assert response.status_code == 400
    assert "status" in response.json()["detail"]
    empty = client_for.put(f"/api/agents/{agent.agent_id}", {}, format="json")
    assert empty.status_code == 400 and empty.json()["detail"]


@pytest.mark.parametrize("metadata", [{"agent_id": {"nested": ["deep"]}}, {"notes": "x" * 5000}])
def test_put_agent_with_oversized_or_nested_metadata_is_400_and_changes_nothing(client_for, clinic, metadata):
    agent = agent_for(clinic)
    response = client_for.put(f"/api/agents/{agent.agent_id}", {"elevenlabs_metadata": metadata}, format="json")
    assert response.status_code == 400 and "elevenlabs_metadata" in response.json()["detail"]
    agent.refresh_from_db()
    assert agent.elevenlabs_metadata == {}


def test_put_agent_is_audited(client_for, clinic):
    agent = agent_for(clinic)
    client_for.put(f"/api/agents/{agent.agent_id}", {"agent_name": "Recepção"}, format="json")
    assert AuditEvent.objects.filter(action="agent.update", object_id=str(agent.id)).exists()


def test_another_clinics_agent_is_404_on_every_agent_route(foreign_client, clinic):
    agent = agent_for(clinic)
    digest = agent.token_digest
    for method, path in (("put", f"/api/agents/{agent.agent_id}"), ("get", f"/api/agents/{agent.agent_id}/api-token"),
                         ("post", f"/api/agents/{agent.agent_id}/regenerate-token")):
        response = getattr(foreign_client, method)(path, {"agent_name": "Hijacked"}, format="json")
        assert response.status_code == 404, path
        assert response.json()["detail"]
    agent.refresh_from_db()
    assert agent.agent_name != "Hijacked" and agent.token_digest == digest


def test_api_token_is_shown_to_an_admin_in_the_documented_shape(client_for, clinic):
    agent = agent_for(clinic)
    response = client_for.get(f"/api/agents/{agent.agent_id}/api-token")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"agent_id", "api_token", "token_preview", "message"}
    assert body["api_token"].startswith("fd_agent_")
    assert body["token_preview"] == f"{body['api_token'][:12]}...{body['api_token'][-3:]}"
    assert "X-Agent-Token" in body["message"]


def test_api_token_is_refused_to_an_editor(clinic, jwt_client_for):
    agent = agent_for(clinic)
    response = jwt_client_for(clinic, role=Membership.Role.EDITOR).get(f"/api/agents/{agent.agent_id}/api-token")
    assert response.status_code == 403
    assert response.json()["detail"]


def test_token_is_stored_as_digest_and_ciphertext_never_in_clear(clinic):
    from django.db import connection

    agent = agent_for(clinic)
    with connection.cursor() as cursor:
        cursor.execute("select token_digest, token_encrypted from telephony_agent where id = %s", [agent.id])
        digest, stored = cursor.fetchone()
    assert agent.token_encrypted not in (digest, stored)
    assert stored.startswith("v1:")


def test_regenerated_token_replaces_the_old_one_at_once(client_for, clinic):
    agent = agent_for(clinic)
    old = agent.token_encrypted
    response = client_for.post(f"/api/agents/{agent.agent_id}/regenerate-token")
    assert response.status_code == 200
    new = response.json()["api_token"]
    assert new != old and "regenerated" in response.json()["message"]
    client = APIClient()
    path = f"/api/agent-actions/appointments/{agent.agent_id}/today"
    assert client.get(path, HTTP_X_AGENT_TOKEN=old).status_code == 401
    assert client.get(path, HTTP_X_AGENT_TOKEN=new).status_code == 200
    assert client_for.get(f"/api/agents/{agent.agent_id}/api-token").json()["api_token"] == new


def test_regenerating_the_token_is_audited(client_for, clinic):
    agent = agent_for(clinic)
    client_for.post(f"/api/agents/{agent.agent_id}/regenerate-token")
    event = AuditEvent.objects.get(clinic=clinic, action="agent.token.regenerate")
    assert event.object_id == str(agent.id) and event.actor_kind == "key"


def test_agent_of_a_clinic_whose_slug_meets_another_clinics_agent_id_is_created_with_its_own_id(db):
    """Slugs "a-b" and "a_b" give the same default agent id; the second clinic still gets an agent (found by
    schemathesis: GET /api/agents answered 500)."""
    first = agent_for(ClinicFactory(slug="clinica-sol"))
    second_clinic = ClinicFactory(slug="clinica_sol")

    second = agent_for(second_clinic)

    assert first.agent_id == "agent_clinica_sol"
    assert second.clinic_id == second_clinic.pk and second.agent_id.startswith("agent_clinica_sol_")
    assert agent_for(second_clinic).pk == second.pk
