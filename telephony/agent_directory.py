"""Telephony's answers to the shared kernel about phone agents (registered in `TelephonyConfig.ready()` with
`clinics.extensions.register_agent_directory`): the login's agent summary, and whether an agent id is another
clinic's (the knowledge base's files of an agent answer 404 then)."""
from django.db.models import Q

from clinics.models import Clinic

from .agents import agent_for, default_agent_id
from .models import Agent


class TelephonyAgentDirectory:
    def summary(self, clinic) -> dict:
        agent = agent_for(clinic)
        return {"agent_id": agent.agent_id, "agent_name": agent.agent_name, "status": agent.status}

    def _own_agent_ids(self, clinic) -> set[str]:
        voice = clinic.voice_settings or {}
        ids = {self.summary(clinic)["agent_id"], default_agent_id(clinic), voice.get("agent_id") or ""}
        for agent_id, metadata in Agent.objects.for_clinic(clinic).values_list("agent_id", "elevenlabs_metadata"):
            ids |= {agent_id, (metadata or {}).get("agent_id") or ""}
        return {value for value in ids if value}

    def belongs_to_another_clinic(self, clinic, agent_id: str) -> bool:
        """A clinic has one agent, so its own id in any spelling the product uses (the login's `agent.agent_id`,
        the provider's id in the voice settings, the telephony agent's id) and an id no clinic claims all mean
        it; an id another clinic claims does not."""
        agent_id = (agent_id or "").strip()
        if not agent_id or agent_id in self._own_agent_ids(clinic):
            return False
        slugs = set()
        if agent_id.startswith("agent_"):
            rest = agent_id.removeprefix("agent_")
            slugs = {rest, rest.replace("_", "-")}
        others = Clinic.objects.exclude(pk=clinic.pk)
        if others.filter(Q(voice_settings__agent_id=agent_id) | Q(slug__in=slugs)).exists():
            return True
        # This clinic's own agents answered False above (`_own_agent_ids`), so any agent found is another's.
        return Agent.objects.filter(Q(agent_id=agent_id) | Q(elevenlabs_metadata__agent_id=agent_id)).exists()
