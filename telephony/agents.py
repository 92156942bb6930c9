"""The clinic's phone agent: created on first use, renamed, and its action token issued and rotated.

The token (`X-Agent-Token`) is what the voice provider sends when the agent calls a tool (check availability,
book). It is found by its SHA-256 digest; a copy encrypted with the PII keys lets the dashboard show it again
(`GET /api/agents/{agent_id}/api-token`, docs/api/dashboard.md) to an admin. Rotating it replaces the digest, so
the old token stops working on the next request.
"""
import secrets

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.audit import record
from clinics.errors import CommonCode, Conflict
from clinics.models import hash_secret
from clinics.phones import normalise_clinic_phone

from .backends.voice import VOICE
from .errors import TelephonyCode
from .exceptions import AgentNotFound, AgentPaused, CallFailed, ProviderError
from .models import Agent, Call, phone_index
from .outbound_webhooks import call_status_changed


def _new_token() -> str:
    return Agent.TOKEN_PREFIX + secrets.token_urlsafe(32)


def _preview(token: str) -> str:
    return f"{token[:12]}...{token[-3:]}"


def _token_fields(token: str) -> dict:
    return {"token_digest": hash_secret(token), "token_preview": _preview(token), "token_encrypted": token,
            "token_rotated_at": timezone.now()}


def _provider_agent_id(metadata) -> str:
    return str((metadata or {}).get("agent_id") or "").strip()[:100]


def _provider_agent_id_taken(provider_agent_id: str, agent: Agent | None = None) -> bool:
    others = Agent.objects.filter(provider_agent_id=provider_agent_id)
    if agent is not None and agent.pk:
        others = others.exclude(pk=agent.pk)
    return bool(provider_agent_id) and others.exists()


class ProviderAgentIdTaken(Conflict):
    """Another clinic's agent already holds this voice provider agent id (it would receive its transcripts)."""

    def __init__(self):
        message = _("This voice provider agent id is already registered by another agent.")
        super().__init__(CommonCode.CONFLICT, message, {"elevenlabs_metadata": {"agent_id": [message]}})


def default_agent_id(clinic) -> str:
    return "agent_" + clinic.slug.replace("-", "_")


def agent_for(clinic) -> Agent:
    """The clinic's agent, created on first use from the clinic's voice settings (name, status, provider id).

    Its public id comes from the clinic's slug; slugs that differ only by "-" and "_" (or a slug renamed since)
    can meet another clinic's agent id, and then a short random suffix keeps both.
    """
    agent = Agent.objects.for_clinic(clinic).first()
    if agent is not None:
        return agent
    voice = clinic.voice_settings or {}
    status = voice.get("status") if voice.get("status") in Agent.Status.values else Agent.Status.ACTIVE
    metadata = {"agent_id": voice["agent_id"]} if voice.get("agent_id") else {}
    if _provider_agent_id_taken(_provider_agent_id(metadata)):
        # The settings name another clinic's agent: start without it; the admin sets their own id later.
        metadata = {}
    for attempt in range(AGENT_ID_ATTEMPTS):
        agent_id = default_agent_id(clinic) + (f"_{secrets.token_hex(3)}" if attempt else "")
        try:
            with transaction.atomic():
                return Agent.objects.create(
                    clinic=clinic, agent_id=agent_id,
                    agent_name=(voice.get("agent_name") or f"{clinic.name} Agent")[:200], status=status,
                    elevenlabs_metadata=metadata, provider_agent_id=_provider_agent_id(metadata),
                    **_token_fields(_new_token()))
        except IntegrityError:
            # Two first requests at once: the other one created it; else the id is another clinic's.
            agent = Agent.objects.for_clinic(clinic).first()
            if agent is not None:
                return agent
    raise Conflict(TelephonyCode.AGENT_ID_TAKEN, _("No free agent id could be chosen; try again."))


AGENT_ID_ATTEMPTS = 4


def agent_update(*, agent: Agent, actor=None, **fields) -> Agent:
    """Change the agent's name, status or provider metadata (other keys are ignored). Audited when it changed.

    The provider's agent id (`elevenlabs_metadata.agent_id`) is unique across clinics: one another agent holds
    is refused with Conflict (ProviderAgentIdTaken) and nothing changes.
    """
    changed = [name for name in ("agent_name", "status", "elevenlabs_metadata")
               if name in fields and getattr(agent, name) != fields[name]]
    if "elevenlabs_metadata" in changed:
        provider_agent_id = _provider_agent_id(fields["elevenlabs_metadata"])
        if _provider_agent_id_taken(provider_agent_id, agent):
            raise ProviderAgentIdTaken()
        if provider_agent_id != agent.provider_agent_id:
            changed.append("provider_agent_id")
        fields = {**fields, "provider_agent_id": provider_agent_id}
    if changed:
        previous = {name: getattr(agent, name) for name in changed}
        for name in changed:
            setattr(agent, name, fields[name])
        try:
            with transaction.atomic():
                agent.save(update_fields=changed)
                record(actor, "agent.update", "agent", str(agent.id), clinic=agent.clinic, fields=changed)
                transaction.on_commit(lambda: forget_agent_token(agent))
            forget_agent_token(agent)
        except IntegrityError:
            # Claimed by another agent between the check and the save: the constraint decides.
            for name, value in previous.items():
                setattr(agent, name, value)
            raise ProviderAgentIdTaken()
    return agent


def agent_token_regenerate(*, agent: Agent, actor=None) -> tuple[Agent, str]:
    """Issue a new action token; the previous one is refused from now on. Audited. Returns (agent, new token)."""
    token = _new_token()
    fields = _token_fields(token)
    forget_agent_token(agent)  # the old token stops working on the next request
    for name, value in fields.items():
        setattr(agent, name, value)
    with transaction.atomic():
        agent.save(update_fields=list(fields))
        record(actor, "agent.token.regenerate", "agent", str(agent.id), clinic=agent.clinic,
               preview=agent.token_preview)
    return agent, token


# Every tool call of a conversation presents the same token: the agent and its clinic are kept in the cache this
# long, so a tool call spends its queries on its work (a booking stays within 8). Rotating the token, changing the
# agent or saving its clinic drops the entry at once (`forget_agent_token`, the Clinic post_save receiver).
TOKEN_CACHE_SECONDS = 60


def _token_key(digest: str) -> str:
    return f"agent-token:{digest}"


def forget_agent_token(agent: Agent) -> None:
    cache.delete(_token_key(agent.token_digest))


def agent_for_token(token: str) -> Agent | None:
    """The agent holding this action token, with its clinic, or None."""
    if not token or not token.startswith(Agent.TOKEN_PREFIX):
        return None
    digest = hash_secret(token)
    agent = cache.get(_token_key(digest))
    if isinstance(agent, Agent) and agent.token_digest == digest:
        return agent
    agent = Agent.objects.select_related("clinic").filter(token_digest=digest).first()
    if agent is not None:
        cache.set(_token_key(digest), agent, TOKEN_CACHE_SECONDS)
    return agent


def agent_for_provider_id(provider_agent_id: str) -> Agent | None:
    """The agent a voice provider names: our public id, or the provider's own id (both unique in the database,
    so a clinic can never receive another clinic's transcripts by claiming its id)."""
    if not provider_agent_id:
        return None
    return (Agent.objects.select_related("clinic")
            .filter(Q(agent_id=provider_agent_id) | Q(provider_agent_id=provider_agent_id))
            .order_by("created_at").first())


def agent_in_clinic(clinic, identifier: str) -> Agent | None:
    """The clinic's agent named by its UUID, public id or provider id; None for anything else (another clinic's)."""
    agent = agent_for(clinic)
    names = {agent.agent_id, str(agent.id), str((agent.elevenlabs_metadata or {}).get("agent_id") or "")} - {""}
    # UUIDs arrive in either case; our string ids are lower case.
    return agent if identifier in names or identifier.lower() == str(agent.id) else None


def call_place(*, clinic, agent: Agent, number: str, about: str = "", prompt: str = "",
               overwrite_prompt: bool = False, first_message: str = "", actor=None) -> Call:
    """Record an outbound call as initiated and hand it to the voice provider (`settings.PROVIDERS["voice"]`)
    (docs/api/voice.md, Outbound call). Audited.

    Raises InvalidPhoneNumber naming `participant.number` or AgentPaused (nothing stored), or CallFailed (the
    call is kept, marked failed and audited as such, so the call log shows the attempt; only a call the provider
    took is audited as placed).
    """
    phone = normalise_clinic_phone(clinic, number, "participant.number")
    if not agent.belongs_to(clinic):
        raise AgentNotFound()
    if agent.status != Agent.Status.ACTIVE:
        raise AgentPaused()
    call = Call.objects.create(clinic=clinic, direction=Call.Direction.OUTBOUND, phone_number=phone,
                               phone_index=phone_index(phone), status=Call.Status.INITIATED,
                               agent_id=agent.agent_id, started_at=timezone.now())
    metadata = agent.elevenlabs_metadata or {}
    try:
        conversation_id = VOICE.backend().place_call(
            call, provider_agent_id=str(metadata.get("agent_id") or agent.agent_id),
            phone_number_id=str(metadata.get("agent_phone_number_id") or ""), prompt=prompt,
            overwrite_prompt=overwrite_prompt, first_message=first_message, about=about)
    except ProviderError as exc:
        with transaction.atomic():
            call.status = Call.Status.FAILED
            call.ended_at = timezone.now()
            call.save(update_fields=["status", "ended_at"])
            call_status_changed(call)
            record(actor, "call.failed", "call", str(call.id), clinic=clinic, agent=agent.agent_id,
                   reason=exc.reason[:200])
        raise CallFailed(call, exc.reason)
    with transaction.atomic():
        if conversation_id:
            call.conversation_id = conversation_id[:100]
            call.save(update_fields=["conversation_id"])
        call_status_changed(call)
        record(actor, "call.placed", "call", str(call.id), clinic=clinic, agent=agent.agent_id)
        transaction.on_commit(lambda: VOICE.backend().placed(call))
    return call


def call_dial(*, call_id) -> Call | None:
    """Place a stored call back (pending, or scheduled and due) through the voice provider, as the clinic's agent.

    The call is claimed (marked initiated) in its own transaction before the provider is asked, so a task
    delivered twice never dials twice. A provider refusal, or a paused agent, marks the call failed. Returns the
    call, or None when there is none.
    """
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(pk=call_id).first()
        if call is None:
            return None
        due = call.status == Call.Status.PENDING or (
            call.status == Call.Status.SCHEDULED and call.scheduled_at is not None
            and call.scheduled_at <= timezone.now())
        if not due:
            return call
        call.status = Call.Status.INITIATED
        call.started_at = timezone.now()
        call.save(update_fields=["status", "started_at"])
    agent = agent_for(call.clinic)
    metadata = agent.elevenlabs_metadata or {}
    try:
        if agent.status != Agent.Status.ACTIVE:
            raise ProviderError("the clinic's phone agent is paused")
        conversation_id = VOICE.backend().place_call(
            call, provider_agent_id=str(metadata.get("agent_id") or agent.agent_id),
            phone_number_id=str(metadata.get("agent_phone_number_id") or ""))
    except ProviderError as exc:
        with transaction.atomic():
            call.status = Call.Status.FAILED
            call.ended_at = timezone.now()
            call.save(update_fields=["status", "ended_at"])
            call_status_changed(call)
            record(None, "call.failed", "call", str(call.id), clinic=call.clinic, agent=agent.agent_id,
                   reason=exc.reason[:200])
        return call
    with transaction.atomic():
        fields = ["agent_id"]
        call.agent_id = call.agent_id or agent.agent_id
        if conversation_id:
            call.conversation_id = conversation_id[:100]
            fields.append("conversation_id")
        call.save(update_fields=fields)
        call_status_changed(call)
        record(None, "call.placed", "call", str(call.id), clinic=call.clinic, agent=agent.agent_id)
        transaction.on_commit(lambda: VOICE.backend().placed(call))
    return call


def call_failure_record(*, agent: Agent, conversation_id: str) -> Call | None:
    """The provider could not connect a call we placed: mark it failed (once) and tell subscribed endpoints.

    Returns the call, or None when no call of the agent's clinic has that conversation id.
    """
    if not conversation_id:
        return None
    with transaction.atomic():
        call = (Call.objects.for_clinic(agent.clinic_id).select_for_update()
                .filter(conversation_id=conversation_id[:100]).first())
        if call is None or call.status in Call.ENDED_STATUSES:
            return call
        call.status = Call.Status.FAILED
        call.ended_at = timezone.now()
        call.save(update_fields=["status", "ended_at"])
        call_status_changed(call)
    return call
