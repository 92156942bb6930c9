"""What higher apps tell the shared kernel, without the kernel importing them.

Clinics shows a member's plan and phone agent at login, and the knowledge base needs to know whether an agent id
is another clinic's, but plans belong to billing and agents to telephony, which sit above clinics. Those apps
register a provider here in their `AppConfig.ready()` (as healthchecks' core looks integrations up by name);
clinics and the apps beside it only call the functions below, which answer a neutral default when no provider
is installed.
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class PlanSummary:
    """A clinic's plan as the dashboard shows it: name, subscription status and what the plan allows."""

    name: str = "free"
    status: str = "active"
    features: dict = field(default_factory=dict)


class AgentDirectory(Protocol):
    def summary(self, clinic) -> dict:
        """The clinic's phone agent: `{"agent_id", "agent_name", "status"}`."""

    def belongs_to_another_clinic(self, clinic, agent_id: str) -> bool:
        """True when `agent_id` names another clinic's phone agent."""


_plan_provider: Callable | None = None
_agent_directory: AgentDirectory | None = None


def register_plan_provider(provider: Callable) -> None:
    """`provider(clinic) -> PlanSummary`; billing registers its subscriptions here."""
    global _plan_provider
    _plan_provider = provider


def register_agent_directory(directory: AgentDirectory) -> None:
    """Telephony registers its agents here."""
    global _agent_directory
    _agent_directory = directory


def plan_summary(clinic) -> PlanSummary:
    """The clinic's plan; the free tier with no listed features when no billing is installed."""
    return _plan_provider(clinic) if _plan_provider is not None else PlanSummary()


def agent_summary(clinic) -> dict | None:
    """The clinic's phone agent, or None when no telephony is installed."""
    return _agent_directory.summary(clinic) if _agent_directory is not None else None


def agent_of_another_clinic(clinic, agent_id: str) -> bool:
    """True when `agent_id` names another clinic's agent; False without telephony (every id is the clinic's own)."""
    return _agent_directory is not None and _agent_directory.belongs_to_another_clinic(clinic, agent_id)


# --- The console's home and the patient record: figures and history that live in the apps above the kernel.


@dataclass(frozen=True)
class TimelineEntry:
    """One event of a patient's history as the patient record shows it.

    `kind` names the app's kind of event ("appointment", "call", "message", "note", "triage", "consent");
    `detail` may hold personal or health data and is given only when the provider was asked with `full=True`.
    """

    at: object  # an aware datetime
    kind: str
    title: str
    detail: str = ""
    url: str = ""


_timeline_providers: dict[str, Callable] = {}
_home_provider: Callable | None = None


def register_timeline_provider(name: str, provider: Callable) -> None:
    """`provider(patient, *, full) -> list[TimelineEntry]`, the events one app holds about the patient (a
    bounded number of queries, scoped to the patient's clinic); registering the same name again replaces it."""
    _timeline_providers[name] = provider


def patient_timeline(patient, *, full: bool) -> list[TimelineEntry]:
    """Every registered app's events about `patient`, newest first; details only when `full`."""
    entries = [entry for provider in _timeline_providers.values() for entry in provider(patient, full=full)]
    return sorted(entries, key=lambda entry: entry.at, reverse=True)


def register_home_provider(provider: Callable) -> None:
    """`provider(clinic, *, now, full) -> dict`, what the console's home shows (personal data only when `full`):
    campaigns, which owns the dashboard figures, registers it."""
    global _home_provider
    _home_provider = provider


def home_summary(clinic, *, now, full: bool) -> dict:
    """The clinic's day and its last 30 days for the console's home; empty when no app registered a provider."""
    return _home_provider(clinic, now=now, full=full) if _home_provider is not None else {}

# --- the knowledge base's answers, for the phone agent ------------------------------------------------------------

_knowledge_answer: Callable | None = None


def register_knowledge_answer(answer: Callable) -> None:
    """`answer(clinic, question, language) -> dict` with `found` (bool), `passage`, `heading`, `confidence` (0-1)
    and `level` (high, medium, low or none): the passage that answers, or `found` False under the knowledge base's
    calibrated threshold. Knowledge registers `knowledge.selectors.answer` here."""
    global _knowledge_answer
    _knowledge_answer = answer


def knowledge_answer(clinic, question: str, language: str | None = None) -> dict | None:
    """The clinic's knowledge-base answer to `question` (see `register_knowledge_answer`); None when no knowledge
    base is installed."""
    return _knowledge_answer(clinic, question, language) if _knowledge_answer is not None else None
