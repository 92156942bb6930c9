"""Issue 12, item 2: the voice provider's agent id names one agent of one clinic, so another clinic cannot
register it and receive that clinic's post-call transcripts."""
import json

import pytest
from django.db import IntegrityError, transaction

from clinics.errors import CommonCode
from clinics.tests.factories import ClinicFactory
from telephony.agents import ProviderAgentIdTaken, agent_for, agent_update
from telephony.models import Agent, Call
from telephony.tests.test_elevenlabs_webhook import elevenlabs_signature, report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ELEVENLABS_WEBHOOK_SECRET = "wsec_test_0123456789abcdef"


def test_item_02_another_clinic_cannot_register_a_taken_provider_agent_id(client, clinic, other_clinic,
                                                                          jwt_client_for):
    agent_update(agent=agent_for(clinic), elevenlabs_metadata={"agent_id": "el_victim_agent"})
    attacker_agent = agent_for(other_clinic)
    attacker = jwt_client_for(other_clinic)

    response = attacker.put(f"/api/agents/{attacker_agent.agent_id}",
                            {"elevenlabs_metadata": {"agent_id": "el_victim_agent"}}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == CommonCode.CONFLICT
    attacker_agent.refresh_from_db()
    assert attacker_agent.elevenlabs_metadata == {} and attacker_agent.provider_agent_id == ""
    body = json.dumps(report("el_victim_agent", conversation_id="conv_victim")).encode()
    assert client.post("/api/webhooks/elevenlabs", data=body, content_type="application/json",
                       HTTP_ELEVENLABS_SIGNATURE=elevenlabs_signature(body)).status_code == 200
    assert Call.objects.get(conversation_id="conv_victim").clinic == clinic


def test_item_02_the_service_refuses_a_taken_id_with_a_conflict_and_keeps_its_own(clinic, other_clinic):
    agent_update(agent=agent_for(clinic), elevenlabs_metadata={"agent_id": "el_one"})
    with pytest.raises(ProviderAgentIdTaken) as refused:
        agent_update(agent=agent_for(other_clinic), elevenlabs_metadata={"agent_id": "el_one"})
    assert refused.value.code == CommonCode.CONFLICT
    # Its own id again (or a rename) is not a conflict with itself.
    agent = agent_update(agent=agent_for(clinic), elevenlabs_metadata={"agent_id": "el_one", "voice": "x"})
    assert agent.provider_agent_id == "el_one"


def test_item_02_the_database_holds_the_provider_agent_id_unique(clinic, other_clinic):
    agent_update(agent=agent_for(clinic), elevenlabs_metadata={"agent_id": "el_db"})
    other = agent_for(other_clinic)
    with pytest.raises(IntegrityError, match="telephony_agent_provider_agent_id_unique"), transaction.atomic():
        Agent.objects.for_clinic(other_clinic).filter(pk=other.pk).update(provider_agent_id="el_db")
    # Agents without a provider id are many.
    agent_for(ClinicFactory())
    assert Agent.objects.filter(provider_agent_id="").count() == 2


def test_item_02_a_clinic_whose_settings_name_a_taken_id_gets_an_agent_without_it(clinic, other_clinic):
    agent_update(agent=agent_for(clinic), elevenlabs_metadata={"agent_id": "el_settings"})
    other_clinic.voice_settings = {"agent_id": "el_settings"}
    other_clinic.save()
    assert agent_for(other_clinic).provider_agent_id == ""
