"""The plan catalogue: what each plan costs and allows. Stripe knows the prices; we know the limits.

Price ids come from settings (STRIPE_PRICE_*), so test and live Stripe accounts map to the same plans. The free
plan has no price: a clinic without a paid subscription is on it (docs/api/voice.md: 1,000 API calls a month).
"""
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Plan:
    name: str
    label: str
    price_setting: str | None
    monthly_price: int  # minor units
    currency: str
    minutes_limit: int
    concurrent_calls: int
    api_calls_limit: int
    team_members: int
    knowledge_base_files: int

    @property
    def price_id(self) -> str:
        return getattr(settings, self.price_setting, "") if self.price_setting else ""

    @property
    def price_display(self) -> str:
        return f"{self.monthly_price / 100:.2f} {self.currency}"

    @property
    def is_paid(self) -> bool:
        return self.price_setting is not None

    def features(self) -> dict:
        """The limits as the login response and /api/auth/me show them."""
        return {"minutes_limit": self.minutes_limit, "concurrent_calls": self.concurrent_calls,
                "api_calls_per_month": self.api_calls_limit, "team_members": self.team_members,
                "knowledge_base_files": self.knowledge_base_files}


FREE = "free"

PLANS: dict[str, Plan] = {plan.name: plan for plan in (
    Plan("free", _("Free"), None, 0, "EUR", minutes_limit=100, concurrent_calls=1, api_calls_limit=1_000,
         team_members=3, knowledge_base_files=5),
    Plan("starter", _("Starter"), "STRIPE_PRICE_STARTER", 4900, "EUR", minutes_limit=1_000, concurrent_calls=3,
         api_calls_limit=10_000, team_members=5, knowledge_base_files=20),
    Plan("professional", _("Professional"), "STRIPE_PRICE_PROFESSIONAL", 14900, "EUR", minutes_limit=4_200,
         concurrent_calls=10, api_calls_limit=100_000, team_members=20, knowledge_base_files=100),
    Plan("premium", _("Premium"), "STRIPE_PRICE_PREMIUM", 34900, "EUR", minutes_limit=12_000, concurrent_calls=30,
         api_calls_limit=1_000_000, team_members=100, knowledge_base_files=500),
)}

# What clinics.selectors reads for the login `features`; the limits never depend on the price ids.
PLAN_FEATURES: dict[str, dict] = {name: plan.features() for name, plan in PLANS.items()}


def get_plan(name: str | None) -> Plan:
    """The named plan, or the free plan for an unknown or empty name."""
    return PLANS.get(name or FREE) or PLANS[FREE]


def plan_for_price(price_id: str | None) -> Plan | None:
    """The paid plan sold at `price_id`, or None when no plan has that price."""
    if not price_id:
        return None
    return next((plan for plan in PLANS.values() if plan.is_paid and plan.price_id == price_id), None)


def paid_plans() -> list[Plan]:
    return [plan for plan in PLANS.values() if plan.is_paid]
