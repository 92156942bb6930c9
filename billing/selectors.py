"""Reads of billing: the clinic's plan, what it used this period, and its invoices."""
import calendar
from datetime import datetime, time, timedelta, timezone as dt_timezone

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from clinics.extensions import PlanSummary
from clinics.models import Clinic
from clinics.ratelimit import monthly_api_calls
from telephony.models import Call

from .models import Invoice, Subscription
from .plans import FREE, Plan, get_plan


def subscription_of(clinic: Clinic) -> Subscription:
    """The clinic's subscription; an unsaved free, active one when it never subscribed."""
    return Subscription.objects.for_clinic(clinic).first() or Subscription(clinic=clinic, plan=FREE)


def plan_of(subscription: Subscription) -> Plan:
    return get_plan(subscription.plan)


def plan_summary(clinic: Clinic) -> PlanSummary:
    """The clinic's plan, subscription status and features, as `clinics.extensions` hands them to the login."""
    subscription = subscription_of(clinic)
    plan = plan_of(subscription)
    return PlanSummary(name=plan.name, status=subscription.status or "active", features=plan.features())


def billing_period(subscription: Subscription, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) of the period usage counts in: the paid period Stripe reported while it is current, otherwise
    the calendar month (UTC), as the free plan resets monthly."""
    now = now or timezone.now()
    start, end = subscription.current_period_start, subscription.current_period_end
    if start and end and start <= now < end:
        return start, end
    first = now.date().replace(day=1)
    last_day = calendar.monthrange(first.year, first.month)[1]
    start = datetime.combine(first, time.min, tzinfo=dt_timezone.utc)
    return start, start + timedelta(days=last_day)


def usage_of(clinic: Clinic, now: datetime | None = None) -> dict:
    """Minutes of calls and conversations in the current period, and API calls this month, against the plan."""
    subscription = subscription_of(clinic)
    plan = plan_of(subscription)
    start, end = billing_period(subscription, now)
    calls = Call.objects.for_clinic(clinic).filter(created_at__gte=start, created_at__lt=end).aggregate(
        seconds=Coalesce(Sum("duration_secs"), 0), conversations=Count("id"))
    minutes_used = round(calls["seconds"] / 60, 1)
    api_calls_used = monthly_api_calls(clinic)
    return {
        "plan": plan.name,
        "period_start": start,
        "period_end": end,
        "minutes_used": minutes_used,
        "minutes_limit": plan.minutes_limit,
        "usage_percentage": _percentage(minutes_used, plan.minutes_limit),
        "conversations_count": calls["conversations"],
        "api_calls_used": api_calls_used,
        "api_calls_limit": plan.api_calls_limit,
        "api_calls_percentage": _percentage(api_calls_used, plan.api_calls_limit),
    }


def _percentage(used, limit) -> float:
    return round(100 * used / limit, 1) if limit else 0.0


def invoices_for(clinic: Clinic):
    """The clinic's invoices (unordered; the API orders them by its cursor)."""
    return Invoice.objects.for_clinic(clinic)
