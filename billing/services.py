"""Writes of billing: start a checkout, open the portal, change or cancel a plan, and take in Stripe's events.

Stripe's webhooks are the source of truth for a subscription. Every verified event is stored before anything
else (StripeEvent), then processed in its own transaction; a handler that fails leaves the event stored with
its error, and `replay_stripe_events` processes it again once the cause is fixed. Handlers are upserts keyed by
Stripe ids, and subscription state only moves forward in Stripe's time, so a replay or a late duplicate
changes nothing. An event never moves a clinic's subscription when its Stripe ids belong to another clinic.

Services are keyword-only and audited, and raise `clinics.errors.DomainError`s with the codes of
`billing/errors.py`; the API, the console and `replay_stripe_events` call the same ones.
"""
import logging
import uuid
from datetime import datetime, timezone as dt_timezone

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from clinics import audit
from clinics.errors import Conflict, InvalidInput, ProviderUnavailable
from clinics.models import Clinic

from . import stripe_records
from .backends.payments import (PAYMENTS, LocalPaymentsBackend, PaymentsError, PublishedWebhookSecret,
                               verify_webhook)
from .errors import BillingCode
from .models import Invoice, StripeEvent, Subscription
from .plans import FREE, PLANS, Plan, get_plan, plan_for_price

logger = logging.getLogger(__name__)


class EventError(Exception):
    """A stored event that cannot be applied yet (unknown clinic, unknown price...); kept for a replay."""


# Statuses after which a subscription bills no more: the clinic may subscribe again.
ENDED = (Subscription.Status.CANCELED, Subscription.Status.INCOMPLETE_EXPIRED)

# --- Actions of a clinic admin -------------------------------------------------------------------------------


def _provider_error(exc: PaymentsError) -> ProviderUnavailable:
    logger.warning("Payment provider error: %s", exc)
    return ProviderUnavailable(BillingCode.PAYMENT_PROVIDER_ERROR,
                               _("The payment provider could not complete the request."),
                               {"provider": PAYMENTS.choice})


def paid_plan(*, price_id: str | None = None, plan_name: str | None = None) -> Plan:
    """The paid plan a caller names by Stripe price id (dashboard) or by plan name (v1, console):
    UNKNOWN_PRICE or UNKNOWN_PLAN otherwise."""
    if price_id:
        plan = plan_for_price(price_id)
        if plan is None:
            raise InvalidInput(BillingCode.UNKNOWN_PRICE, _("Unknown price: %(price)s") % {"price": price_id[:255]},
                               {"price_id": [_("Not the price of any plan.")]})
        return plan
    plan = PLANS.get(plan_name or "")
    if plan is None or not plan.is_paid:
        raise InvalidInput(BillingCode.UNKNOWN_PLAN, _("Unknown plan: %(plan)s") % {"plan": (plan_name or "")[:40]},
                           {"plan": [_("Choose one of: %(plans)s") % {
                               "plans": ", ".join(name for name, plan in PLANS.items() if plan.is_paid)}]})
    return plan


def _subscription_of(clinic: Clinic, *, lock: bool = False) -> Subscription | None:
    subscriptions = Subscription.objects.for_clinic(clinic)
    if lock:
        subscriptions = subscriptions.select_for_update()
    return subscriptions.first()


def checkout_start(*, clinic: Clinic, actor, success_url: str, cancel_url: str, price_id: str | None = None,
                   plan_name: str | None = None, email: str = ""):
    """A Stripe Checkout session that subscribes `clinic` to the paid plan named by `price_id` or `plan_name`;
    returns the session (`id`, `url`). A clinic already paying is ALREADY_SUBSCRIBED."""
    plan = paid_plan(price_id=price_id, plan_name=plan_name)
    subscription = _subscription_of(clinic)
    if subscription and subscription.stripe_subscription_id and subscription.status not in ENDED:
        # A second Checkout would start a second subscription, billed on top of the first.
        raise Conflict(BillingCode.ALREADY_SUBSCRIBED,
                       _("The clinic already has a subscription; change its plan instead."))
    try:
        session = PAYMENTS.backend().create_checkout(
            clinic=clinic, plan=plan, customer_id=subscription.stripe_customer_id if subscription else "",
            customer_email=email or clinic.email, success_url=success_url, cancel_url=cancel_url)
    except PaymentsError as exc:
        raise _provider_error(exc)
    audit.record(actor, "billing.checkout_started", "subscription", clinic=clinic, plan=plan.name)
    return session


def checkout_pay_offline(*, checkout: dict) -> None:
    """Pay a checkout of the offline backend (its console Checkout page): the events Stripe sends for a new
    subscription, signed and processed as Stripe's. PAYMENT_PROVIDER_ERROR when they cannot be signed (a published
    webhook secret outside development)."""
    try:
        PAYMENTS.backend().complete_checkout(checkout)
    except PublishedWebhookSecret as exc:
        logger.error("Offline checkout refused: %s", exc)
        raise ProviderUnavailable(BillingCode.PAYMENT_PROVIDER_ERROR, _(
            "Payments are refused: STRIPE_WEBHOOK_SECRET is the development secret published with Frontdesk. "
            "Set it to a secret of your own."), {"provider": PAYMENTS.choice})


def _paying_subscription(clinic: Clinic, lock: bool = False) -> Subscription:
    subscription = _subscription_of(clinic, lock=lock)
    if subscription is None or not subscription.stripe_subscription_id or subscription.status in ENDED:
        raise Conflict(BillingCode.NO_SUBSCRIPTION, _("The clinic has no paid subscription."))
    return subscription


def portal_open(*, clinic: Clinic, actor, return_url: str) -> str:
    """The Stripe Customer Portal URL where `clinic` manages its card, plan and invoices."""
    subscription = _subscription_of(clinic)
    if subscription is None or not subscription.stripe_customer_id:
        raise Conflict(BillingCode.NO_BILLING_ACCOUNT, _("The clinic has no billing account yet; subscribe first."))
    try:
        url = PAYMENTS.backend().create_portal(customer_id=subscription.stripe_customer_id, return_url=return_url)
    except PaymentsError as exc:
        raise _provider_error(exc)
    audit.record(actor, "billing.portal_opened", "subscription", subscription.pk, clinic=clinic)
    return url


def subscription_change_plan(*, clinic: Clinic, actor, price_id: str | None = None,
                             plan_name: str | None = None) -> Subscription:
    """Schedule `clinic`'s move to the named paid plan at the end of the paid period, as a Stripe subscription
    schedule (docs/api/dashboard.md: "Plan change scheduled", effective at `current_period_end`): the clinic keeps
    its plan and features until then, and is billed the new price from the renewal. Naming the plan it is on
    drops a scheduled change. Without a paid subscription NO_SUBSCRIPTION; the plan it is on (or already
    scheduled), SAME_PLAN."""
    plan = paid_plan(price_id=price_id, plan_name=plan_name)
    with transaction.atomic():
        subscription = _paying_subscription(clinic, lock=True)
        if plan.name == subscription.scheduled_plan or (plan.name == subscription.plan
                                                        and not subscription.stripe_schedule_id):
            raise Conflict(BillingCode.SAME_PLAN, _("The clinic is already on this plan."))
        backend = PAYMENTS.backend()
        previous = subscription.scheduled_plan or subscription.plan
        try:
            if plan.name == subscription.plan:
                backend.release_schedule(subscription)
                schedule = None
            else:
                schedule = backend.schedule_price_change(subscription, plan.price_id)
        except PaymentsError as exc:
            raise _provider_error(exc)
        if schedule is None:
            _schedule_clear(subscription)
        else:
            subscription.stripe_schedule_id = schedule["id"]
            subscription.scheduled_plan = plan.name
            subscription.scheduled_price_id = plan.price_id
            subscription.scheduled_change_at = _moment(schedule["phases"][-1].get("start_date"))
            # A scheduled change continues the subscription: Stripe drops a pending cancellation with it.
            subscription.cancel_at_period_end = False
        subscription.save()
        audit.record(actor, "billing.plan_change_scheduled", "subscription", subscription.pk, clinic=clinic,
                     previous=previous, plan=plan.name)
    return subscription


def _schedule_clear(subscription: Subscription) -> None:
    subscription.stripe_schedule_id = ""
    subscription.scheduled_plan = ""
    subscription.scheduled_price_id = ""
    subscription.scheduled_change_at = None


def _apply_answer(updated: dict | None, clinic: Clinic) -> None:
    """Apply the subscription Stripe answered with at once; if it cannot be applied, its webhook event will be
    stored and kept for a replay like any other, so the request itself still succeeded."""
    if updated is None:
        return
    try:
        with transaction.atomic():
            apply_subscription_object(updated, clinic=clinic)
    except EventError as exc:
        logger.warning("Stripe's answer for clinic %s not applied now: %s", clinic.pk, exc)


def subscription_cancel(*, clinic: Clinic, actor) -> Subscription:
    """Cancel `clinic`'s paid subscription at the end of the paid period: the clinic keeps its plan until then."""
    subscription = _paying_subscription(clinic)
    if not subscription.cancel_at_period_end:
        try:
            if subscription.stripe_schedule_id:
                # A subscription a schedule manages cannot be cancelled; the scheduled change goes with it.
                PAYMENTS.backend().release_schedule(subscription)
                _schedule_clear(subscription)
                subscription.save()
            updated = PAYMENTS.backend().cancel_at_period_end(subscription)
        except PaymentsError as exc:
            raise _provider_error(exc)
        _apply_answer(updated, clinic)
        audit.record(actor, "billing.subscription_cancelled", "subscription", subscription.pk, clinic=clinic)
        subscription.refresh_from_db()  # Stripe's answer was applied to the same row
    return subscription


# --- Stripe's events -----------------------------------------------------------------------------------------


def _moment(value) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=dt_timezone.utc)
    return parse_datetime(str(value))


def stripe_webhook_receive(*, payload: bytes, signature: str | None,
                           remote_ip: str = "127.0.0.1") -> tuple[StripeEvent, bool]:
    """Verify, store and process one delivery; returns (event, duplicate). Raises InvalidSignature, or
    WebhookNotConfigured without a usable webhook secret.

    dj-stripe verifies and keeps the delivery (`WebhookEventTrigger`) and the event (`Event`); a duplicate of a
    processed event is answered without touching anything; a duplicate of an event whose processing failed is
    processed again (that is Stripe retrying for us)."""
    data, trigger = verify_webhook(payload, signature, remote_ip=remote_ip)
    event, created = store_event(data)
    duplicate = True
    if event.processed_at is None:
        stripe_event_process(event=event)
        event.refresh_from_db()
        duplicate = not created
    stripe_records.delivery_mark(trigger, event_id=event.event_id, processed=event.processed_at is not None,
                                 error=event.error)
    return event, duplicate


def store_event(data: dict) -> tuple[StripeEvent, bool]:
    """Keep a verified event once per Stripe id: dj-stripe's `Event`, and billing's processing row for it."""
    recorded = stripe_records.event_record(data)
    try:
        with transaction.atomic():
            event = StripeEvent.objects.create(
                stripe_id=data["id"], event=recorded, type=data["type"], livemode=bool(data.get("livemode")),
                stripe_created_at=_moment(data.get("created")))
            return event, True
    except IntegrityError:
        return StripeEvent.objects.get(stripe_id=data["id"]), False


def stripe_event_process(*, event: StripeEvent, force: bool = False) -> bool:
    """Apply a stored event in one transaction; True when applied. A processed event is skipped unless `force`
    (a replay); a failure is written to the event and never raised, so the caller can still answer 2xx."""
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update(of=("self",)).select_related("event").get(pk=event.pk)
        if event.processed_at is not None and not force:
            return True
        event.attempts += 1
        handler = HANDLERS.get(event.type)
        try:
            with transaction.atomic():
                payload = event.payload
                if handler:
                    stripe_records.mirror(payload["data"]["object"])
                clinic = handler(payload) if handler else None
        except Exception as exc:  # noqa: BLE001 - any failure must leave the event stored for a replay
            logger.warning("Stripe event %s (%s) not applied: %s", event.stripe_id, event.type, exc,
                           exc_info=not isinstance(exc, EventError))
            event.error = f"{exc.__class__.__name__}: {exc}"[:2000]
            event.save(update_fields=["attempts", "error"])
            return False
        event.processed_at = timezone.now()
        event.error = ""
        if clinic is not None:
            event.clinic = clinic
        event.save(update_fields=["attempts", "error", "processed_at", "clinic"])
        return True


def _stripe_id(value) -> str:
    """The id of a reference in one of Stripe's objects, whether sent as an id or expanded."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _clinic_by_id(value) -> Clinic | None:
    if not value:
        return None
    try:
        return Clinic.objects.filter(pk=value).first()
    except (ValueError, DjangoValidationError):  # a malformed id is no clinic of ours
        return None


def _subscription_for(customer: str = "", subscription_id: str = "", clinic_id: str = "",
                      create: bool = False, clinic: Clinic | None = None) -> Subscription:
    """The subscription row an object of Stripe's belongs to, by subscription id, customer, then our clinic id.

    When the object names a clinic (`clinic`, or `clinic_id` from its metadata) and its Stripe ids are another
    clinic's, nothing is touched: the event is kept with an EventError, for a human to look at.
    """
    found = None
    if subscription_id:
        found = Subscription.objects.select_for_update().filter(stripe_subscription_id=subscription_id).first()
    if found is None and customer:
        found = Subscription.objects.select_for_update().filter(stripe_customer_id=customer).first()
    expected_id = _uuid_or_none(clinic.pk if clinic is not None else clinic_id)
    if found is not None and expected_id is not None and found.clinic_id != expected_id:
        raise EventError(f"Customer {customer or '-'} / subscription {subscription_id or '-'} belongs to another "
                         f"clinic than {expected_id}")
    if found is None:
        clinic = clinic or _clinic_by_id(clinic_id)
        if clinic is None:
            raise EventError(f"No clinic for customer {customer or '-'} / subscription {subscription_id or '-'}")
        found = Subscription.objects.for_clinic(clinic).select_for_update().first()
        if found is None:
            if not create:
                raise EventError(f"Clinic {clinic.pk} has no subscription")
            found = Subscription.objects.create(clinic=clinic, plan=FREE)
    return found


def _values(subscription: Subscription) -> dict:
    return {field.attname: getattr(subscription, field.attname) for field in Subscription._meta.concrete_fields
            if field.name != "updated_at"}


def _save_if_changed(subscription: Subscription, before: dict) -> None:
    """Save only what an event changed: a replayed or duplicate event leaves the row, `updated_at` included, as
    it was."""
    if subscription._state.adding or _values(subscription) != before:
        subscription.save()


def _on_checkout_completed(event: dict) -> Clinic | None:
    session = event["data"]["object"]
    if session.get("mode") not in (None, "subscription"):
        return None
    metadata = session.get("metadata") or {}
    subscription = _subscription_for(_stripe_id(session.get("customer")), _stripe_id(session.get("subscription")),
                                     session.get("client_reference_id") or metadata.get("clinic_id"), create=True)
    before = _values(subscription)
    subscription.stripe_customer_id = _stripe_id(session.get("customer")) or subscription.stripe_customer_id
    subscription.stripe_subscription_id = (_stripe_id(session.get("subscription"))
                                           or subscription.stripe_subscription_id)
    if subscription.stripe_event_at is None and get_plan(metadata.get("plan")).is_paid:
        # The subscription event usually follows with the price; until then the paid plan is the one bought.
        subscription.plan = metadata["plan"]
        subscription.status = Subscription.Status.ACTIVE
    _save_if_changed(subscription, before)
    return subscription.clinic


def apply_subscription_object(obj: dict, event_at: datetime | None = None, deleted: bool = False,
                              clinic: Clinic | None = None) -> Clinic:
    """Bring our Subscription in line with Stripe's subscription object, unless a newer event already did."""
    subscription = _subscription_for(_stripe_id(obj.get("customer")), obj.get("id") or "",
                                     (obj.get("metadata") or {}).get("clinic_id"), create=True, clinic=clinic)
    if event_at and subscription.stripe_event_at and event_at < subscription.stripe_event_at:
        logger.info("Skipping stale state of subscription %s", obj.get("id"))
        return subscription.clinic
    before = _values(subscription)
    items = (obj.get("items") or {}).get("data") or []
    first = items[0] if items else {}
    price = first.get("price") or {}
    price_id = price.get("id") if isinstance(price, dict) else price
    status = obj.get("status") or subscription.status
    if deleted or status in ("canceled", "incomplete_expired"):
        plan_name = FREE
    else:
        plan = plan_for_price(price_id)
        if plan is None:
            raise EventError(f"Unknown price {price_id!r}: set STRIPE_PRICE_* to the prices of the plans")
        plan_name = plan.name
    subscription.plan = plan_name
    subscription.status = "canceled" if deleted else status
    subscription.stripe_customer_id = _stripe_id(obj.get("customer")) or subscription.stripe_customer_id
    subscription.stripe_subscription_id = obj.get("id") or subscription.stripe_subscription_id
    subscription.stripe_price_id = price_id or ""
    # Stripe moved the period onto the items (API 2025-03-31); older versions keep it on the subscription.
    subscription.current_period_start = _moment(obj.get("current_period_start") or first.get("current_period_start"))
    subscription.current_period_end = _moment(obj.get("current_period_end") or first.get("current_period_end"))
    subscription.cancel_at_period_end = False if deleted else bool(obj.get("cancel_at_period_end"))
    if deleted or (subscription.scheduled_price_id and price_id == subscription.scheduled_price_id) or (
            "schedule" in obj and not obj["schedule"]):
        # The scheduled change took effect (its phase began), or the schedule was released or ended.
        _schedule_clear(subscription)
    if event_at:
        subscription.stripe_event_at = event_at
    _save_if_changed(subscription, before)
    return subscription.clinic


def _on_subscription(event: dict) -> Clinic:
    return apply_subscription_object(event["data"]["object"], event_at=_moment(event.get("created")),
                                     deleted=event["type"] == "customer.subscription.deleted")


def _invoice_subscription_id(invoice: dict) -> str:
    subscription = invoice.get("subscription")
    if not subscription:
        # API 2025-03-31 and later: invoice.parent.subscription_details.subscription.
        details = ((invoice.get("parent") or {}).get("subscription_details") or {})
        subscription = details.get("subscription")
    if isinstance(subscription, dict):
        subscription = subscription.get("id")
    return subscription or ""


def web_url(value) -> str:
    """`value` when it is an http(s) address of at most 1,000 characters, else "": invoice links become links on
    the billing page, so `javascript:` and the like are never kept."""
    value = value.strip() if isinstance(value, str) else ""
    return value if value.lower().startswith(("https://", "http://")) and len(value) <= 1000 else ""


def _on_invoice(event: dict) -> Clinic:
    invoice = event["data"]["object"]
    subscription_id = _invoice_subscription_id(invoice)
    subscription = _subscription_for(_stripe_id(invoice.get("customer")), subscription_id,
                                     (invoice.get("metadata") or {}).get("clinic_id"))
    failed = event["type"] == "invoice.payment_failed"
    paid_at = _moment((invoice.get("status_transitions") or {}).get("paid_at"))
    values = {
        "stripe_subscription_id": subscription_id,
        "number": invoice.get("number") or "", "status": invoice.get("status") or ("open" if failed else "paid"),
        "amount_due": invoice.get("amount_due") or 0, "amount_paid": invoice.get("amount_paid") or 0,
        "currency": (invoice.get("currency") or "eur").upper(),
        "hosted_invoice_url": web_url(invoice.get("hosted_invoice_url")),
        "invoice_pdf": web_url(invoice.get("invoice_pdf")),
        "payment_failed": failed, "period_start": _moment(invoice.get("period_start")),
        "period_end": _moment(invoice.get("period_end")), "paid_at": None if failed else paid_at,
        "created_at": _moment(invoice.get("created")) or timezone.now(),
    }
    stored = Invoice.objects.select_for_update().filter(stripe_invoice_id=invoice["id"]).first()
    if stored is None:
        Invoice.objects.create(clinic=subscription.clinic, stripe_invoice_id=invoice["id"], **values)
    elif stored.clinic_id != subscription.clinic_id:
        # An invoice id never moves to another clinic's books.
        raise EventError(f"Invoice {invoice['id']} belongs to another clinic")
    else:
        for name, value in values.items():
            setattr(stored, name, value)
        stored.save(update_fields=list(values))
    # Stripe sends customer.subscription.updated with the status as well; these keep the clinic's status right
    # even when that event is late, and never move a cancelled subscription.
    if subscription.status != Subscription.Status.CANCELED and (
            not subscription_id or subscription.stripe_subscription_id == subscription_id):
        if failed and subscription.status in (Subscription.Status.ACTIVE, Subscription.Status.TRIALING):
            subscription.status = Subscription.Status.PAST_DUE
            subscription.save(update_fields=["status", "updated_at"])
        elif not failed and subscription.status in (Subscription.Status.PAST_DUE, Subscription.Status.UNPAID):
            subscription.status = Subscription.Status.ACTIVE
            subscription.save(update_fields=["status", "updated_at"])
    return subscription.clinic


HANDLERS = {
    "checkout.session.completed": _on_checkout_completed,
    "customer.subscription.created": _on_subscription,
    "customer.subscription.updated": _on_subscription,
    "customer.subscription.deleted": _on_subscription,
    "invoice.payment_succeeded": _on_invoice,
    "invoice.payment_failed": _on_invoice,
}


def stripe_events_replay(*, failed_only: bool = False, since: datetime | None = None) -> tuple[int, int]:
    """Process the events dj-stripe stored again, in Stripe's order; returns (applied, failed). Safe to run
    repeatedly: a replayed event changes nothing already right."""
    events = StripeEvent.objects.select_related("event")
    if failed_only:
        events = events.filter(processed_at__isnull=True)
    if since is not None:
        events = events.filter(received_at__gte=since)
    applied = failed = 0
    for event in events.order_by("event__created", "received_at", "id").iterator():
        if stripe_event_process(event=event, force=True):
            applied += 1
        else:
            failed += 1
    return applied, failed


def subscriptions_renew_offline(*, now: datetime | None = None) -> int:
    """The offline backend's stand-in for Stripe's billing clock: every offline subscription whose paid period
    has ended renews (the scheduled plan, if any, starts), or ends if it was cancelled at the period end; each by
    the events Stripe would send. Returns how many moved. Does nothing with Stripe, which renews by itself."""
    backend = PAYMENTS.backend()
    if not isinstance(backend, LocalPaymentsBackend):
        return 0
    now = now or timezone.now()
    due = Subscription.objects.filter(stripe_subscription_id__startswith=LocalPaymentsBackend.SUBSCRIPTION_PREFIX,
                                      current_period_end__lte=now).exclude(status__in=ENDED)
    moved = 0
    for subscription in due.order_by("current_period_end", "id").iterator():
        backend.renew(subscription)
        moved += 1
    return moved
