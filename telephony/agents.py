"""The clinic's phone agent: created on first use, renamed, and its action token issued and rotated.

The token (`X-Agent-Token`) is what the voice provider sends when the agent calls a tool (check availability,
book). It is found by its SHA-256 digest; a copy encrypted with the PII keys lets the dashboard show it again
(`GET /api/agents/{agent_id}/api-token`, seed 001) to an admin. Rotating it replaces the digest, so the old token
stops working on the next request.
"""
import secrets

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from clinics.models import hash_secret

from .models import Agent


def _new_token() -> str:
    return Agent.TOKEN_PREFIX + secrets.token_urlsafe(32)


def _preview(token: str) -> str:
    return f"{token[:12]}...{token[-3:]}"


def _token_fields(token: str) -> dict:
    return {"token_digest": hash_secret(token), "token_preview": _preview(token), "token_encrypted": token,
            "token_rotated_at": timezone.now()}


def default_agent_id(clinic) -> str:
    return "agent_" + clinic.slug.replace("-", "_")


def agent_for(clinic) -> Agent:
    """The clinic's agent, created on first use from the clinic's voice settings (name, status, provider id)."""
    agent = Agent.objects.filter(clinic=clinic).first()
    if agent is not None:
        return agent
    voice = clinic.voice_settings or {}
    status = voice.get("status") if voice.get("status") in Agent.Status.values else Agent.Status.ACTIVE
    metadata = {"agent_id": voice["agent_id"]} if voice.get("agent_id") else {}
    try:
        with transaction.atomic():
            return Agent.objects.create(
                clinic=clinic, agent_id=default_agent_id(clinic),
                agent_name=(voice.get("agent_name") or f"{clinic.name} Agent")[:200], status=status,
                elevenlabs_metadata=metadata, **_token_fields(_new_token()))
    except IntegrityError:
        # Two first requests at once: the other one created it.
        return Agent.objects.get(clinic=clinic)


def update_agent(agent: Agent, **fields) -> Agent:
    """Change the agent's name, status or provider metadata (other keys are ignored)."""
    changed = [name for name in ("agent_name", "status", "elevenlabs_metadata")
               if name in fields and getattr(agent, name) != fields[name]]
    for name in changed:
        setattr(agent, name, fields[name])
    if changed:
        agent.save(update_fields=changed)
    return agent


def regenerate_token(agent: Agent) -> tuple[Agent, str]:
    """Issue a new action token; the previous one is refused from now on. Returns (agent, new token)."""
    token = _new_token()
    fields = _token_fields(token)
    for name, value in fields.items():
        setattr(agent, name, value)
    agent.save(update_fields=list(fields))
    return agent, token


def agent_for_token(token: str) -> Agent | None:
    """The agent holding this action token, with its clinic, or None."""
    if not token or not token.startswith(Agent.TOKEN_PREFIX):
        return None
    return Agent.objects.select_related("clinic").filter(token_digest=hash_secret(token)).first()


def agent_for_provider_id(provider_agent_id: str) -> Agent | None:
    """The agent a voice provider names: our public id, or the provider's own id kept in its metadata."""
    if not provider_agent_id:
        return None
    return (Agent.objects.select_related("clinic")
            .filter(Q(agent_id=provider_agent_id) | Q(elevenlabs_metadata__agent_id=provider_agent_id))
            .order_by("created_at").first())
