"""Writes of billing: start a checkout, open the portal, change or cancel a plan, and take in Stripe's events.

Stripe's webhooks are the source of truth for a subscription. Every verified event is stored before anything
else (StripeEvent), then processed in its own transaction; a handler that fails leaves the event stored with
its error, and `replay_stripe_events` processes it again once the cause is fixed. Handlers are upserts keyed by
Stripe ids, and subscription state only moves forward in Stripe's time, so a replay or a late duplicate
changes nothing.
"""
import logging
from datetime import datetime, timezone as dt_timezone

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from clinics import audit
from clinics.models import Clinic
from config.surfaces.errors import ApiError

from .backends.payments import PAYMENTS, PaymentsError, verify_webhook
from .models import Invoice, StripeEvent, Subscription
from .plans import FREE, Plan, get_plan, plan_for_price

logger = logging.getLogger(__name__)


class EventError(Exception):
    """A stored event that cannot be applied yet (unknown clinic, unknown price...); kept for a replay."""


# Statuses after which a subscription bills no more: the clinic may subscribe again.
ENDED = (Subscription.Status.CANCELED, Subscription.Status.INCOMPLETE_EXPIRED)

# --- Actions of a clinic admin -------------------------------------------------------------------------------


def _provider_error(exc: PaymentsError) -> ApiError:
    logger.warning("Payment provider error: %s", exc)
    return ApiError(502, "PAYMENT_PROVIDER_ERROR", _("The payment provider could not complete the request."),
                    {"provider": PAYMENTS.choice})


def paid_plan_for_price(price_id: str) -> Plan:
    plan = plan_for_price(price_id)
    if plan is None:
        raise ApiError(400, "UNKNOWN_PRICE", _("Unknown price: %(price)s") % {"price": price_id},
                       {"price_id": [_("Not the price of any plan.")]})
    return plan


def start_checkout(source, clinic: Clinic, plan: Plan, success_url: str, cancel_url: str, email: str = ""):
    """A Stripe Checkout session that subscribes `clinic` to `plan`; returns (session id, URL)."""
    subscription = Subscription.objects.filter(clinic=clinic).first()
    if subscription and subscription.stripe_subscription_id and subscription.status not in ENDED:
        # A second Checkout would start a second subscription, billed on top of the first.
        raise ApiError(409, "ALREADY_SUBSCRIBED",
                       _("The clinic already has a subscription; change its plan instead."))
    try:
        session = PAYMENTS.backend().create_checkout(
            clinic=clinic, plan=plan, customer_id=subscription.stripe_customer_id if subscription else "",
            customer_email=email or clinic.email, success_url=success_url, cancel_url=cancel_url)
    except PaymentsError as exc:
        raise _provider_error(exc)
    audit.record(source, "billing.checkout_started", "subscription", clinic=clinic, plan=plan.name)
    return session


def _paying_subscription(clinic: Clinic) -> Subscription:
    subscription = Subscription.objects.filter(clinic=clinic).first()
    if subscription is None or not subscription.stripe_subscription_id or subscription.status in ENDED:
        raise ApiError(409, "NO_SUBSCRIPTION", _("The clinic has no paid subscription."))
    return subscription


def open_portal(source, clinic: Clinic, return_url: str) -> str:
    """The Stripe Customer Portal URL where the clinic manages its card, plan and invoices."""
    subscription = Subscription.objects.filter(clinic=clinic).first()
    if subscription is None or not subscription.stripe_customer_id:
        raise ApiError(409, "NO_BILLING_ACCOUNT", _("The clinic has no billing account yet; subscribe first."))
    try:
        url = PAYMENTS.backend().create_portal(customer_id=subscription.stripe_customer_id, return_url=return_url)
    except PaymentsError as exc:
        raise _provider_error(exc)
    audit.record(source, "billing.portal_opened", "subscription", subscription.pk, clinic=clinic)
    return url


def change_plan(source, clinic: Clinic, plan: Plan) -> Subscription:
    """Move the clinic's paid subscription to `plan`; the new price is billed from the next renewal."""
    subscription = _paying_subscription(clinic)
    if subscription.plan == plan.name and not subscription.cancel_at_period_end:
        raise ApiError(409, "SAME_PLAN", _("The clinic is already on this plan."))
    try:
        updated = PAYMENTS.backend().change_price(subscription, plan.price_id)
    except PaymentsError as exc:
        raise _provider_error(exc)
    _apply_answer(updated, clinic)
    audit.record(source, "billing.plan_changed", "subscription", subscription.pk, clinic=clinic,
                 previous=subscription.plan, plan=plan.name)
    return Subscription.objects.get(pk=subscription.pk)


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


def cancel_subscription(source, clinic: Clinic) -> Subscription:
    """Cancel at the end of the paid period: the clinic keeps its plan until then."""
    subscription = _paying_subscription(clinic)
    if not subscription.cancel_at_period_end:
        try:
            updated = PAYMENTS.backend().cancel_at_period_end(subscription)
        except PaymentsError as exc:
            raise _provider_error(exc)
        _apply_answer(updated, clinic)
        audit.record(source, "billing.subscription_cancelled", "subscription", subscription.pk, clinic=clinic)
    return Subscription.objects.get(pk=subscription.pk)


# --- Stripe's events -----------------------------------------------------------------------------------------


def _moment(value) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=dt_timezone.utc)
    return parse_datetime(str(value))


def receive_webhook(payload: bytes, sig_header: str | None) -> tuple[StripeEvent, bool]:
    """Verify, store and process one delivery; returns (event, duplicate). Raises InvalidSignature.

    A duplicate of a processed event is answered without touching anything; a duplicate of an event whose
    processing failed is processed again (that is Stripe retrying for us)."""
    data = verify_webhook(payload, sig_header)
    event, created = store_event(data)
    if event.processed_at is not None:
        return event, True
    process_event(event)
    event.refresh_from_db()
    return event, not created


def store_event(data: dict) -> tuple[StripeEvent, bool]:
    """Keep a verified event exactly as Stripe sent it, once per Stripe id."""
    try:
        with transaction.atomic():
            event = StripeEvent.objects.create(
                stripe_id=data["id"], type=data["type"], payload=data, livemode=bool(data.get("livemode")),
                stripe_created_at=_moment(data.get("created")))
            return event, True
    except IntegrityError:
        return StripeEvent.objects.get(stripe_id=data["id"]), False


def process_event(event: StripeEvent, *, force: bool = False) -> bool:
    """Apply a stored event in one transaction; True when applied. A processed event is skipped unless `force`
    (a replay); a failure is written to the event and never raised, so the caller can still answer 2xx."""
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(pk=event.pk)
        if event.processed_at is not None and not force:
            return True
        event.attempts += 1
        handler = HANDLERS.get(event.type)
        try:
            with transaction.atomic():
                clinic = handler(event.payload) if handler else None
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


def _clinic_by_id(value) -> Clinic | None:
    if not value:
        return None
    try:
        return Clinic.objects.filter(pk=value).first()
    except (ValueError, DjangoValidationError):  # a malformed id is no clinic of ours
        return None


def _subscription_for(customer: str = "", subscription_id: str = "", clinic_id: str = "",
                      create: bool = False) -> Subscription:
    """The subscription row an object of Stripe's belongs to, by subscription id, customer, then our clinic id."""
    found = None
    if subscription_id:
        found = Subscription.objects.select_for_update().filter(stripe_subscription_id=subscription_id).first()
    if found is None and customer:
        found = Subscription.objects.select_for_update().filter(stripe_customer_id=customer).first()
    if found is None:
        clinic = _clinic_by_id(clinic_id)
        if clinic is None:
            raise EventError(f"No clinic for customer {customer or '-'} / subscription {subscription_id or '-'}")
        found = Subscription.objects.select_for_update().filter(clinic=clinic).first()
        if found is None:
            if not create:
                raise EventError(f"Clinic {clinic.pk} has no subscription")
            found = Subscription.objects.create(clinic=clinic, plan=FREE)
    return found


def _on_checkout_completed(event: dict) -> Clinic | None:
    session = event["data"]["object"]
    if session.get("mode") not in (None, "subscription"):
        return None
    metadata = session.get("metadata") or {}
    subscription = _subscription_for(session.get("customer") or "", session.get("subscription") or "",
                                     session.get("client_reference_id") or metadata.get("clinic_id"), create=True)
    subscription.stripe_customer_id = session.get("customer") or subscription.stripe_customer_id
    subscription.stripe_subscription_id = session.get("subscription") or subscription.stripe_subscription_id
    if subscription.stripe_event_at is None and get_plan(metadata.get("plan")).is_paid:
        # The subscription event usually follows with the price; until then the paid plan is the one bought.
        subscription.plan = metadata["plan"]
        subscription.status = Subscription.Status.ACTIVE
    subscription.save()
    return subscription.clinic


def apply_subscription_object(obj: dict, event_at: datetime | None = None, deleted: bool = False,
                              clinic: Clinic | None = None) -> Clinic:
    """Bring our Subscription in line with Stripe's subscription object, unless a newer event already did."""
    subscription = _subscription_for(obj.get("customer") or "", obj.get("id") or "",
                                     str(clinic.pk) if clinic else (obj.get("metadata") or {}).get("clinic_id"),
                                     create=True)
    if event_at and subscription.stripe_event_at and event_at < subscription.stripe_event_at:
        logger.info("Skipping stale state of subscription %s", obj.get("id"))
        return subscription.clinic
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
    subscription.stripe_customer_id = obj.get("customer") or subscription.stripe_customer_id
    subscription.stripe_subscription_id = obj.get("id") or subscription.stripe_subscription_id
    subscription.stripe_price_id = price_id or ""
    # Stripe moved the period onto the items (API 2025-03-31); older versions keep it on the subscription.
    subscription.current_period_start = _moment(obj.get("current_period_start") or first.get("current_period_start"))
    subscription.current_period_end = _moment(obj.get("current_period_end") or first.get("current_period_end"))
    subscription.cancel_at_period_end = False if deleted else bool(obj.get("cancel_at_period_end"))
    if event_at:
        subscription.stripe_event_at = event_at
    subscription.save()
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


def _on_invoice(event: dict) -> Clinic:
    invoice = event["data"]["object"]
    subscription_id = _invoice_subscription_id(invoice)
    subscription = _subscription_for(invoice.get("customer") or "", subscription_id,
                                     (invoice.get("metadata") or {}).get("clinic_id"))
    failed = event["type"] == "invoice.payment_failed"
    paid_at = _moment((invoice.get("status_transitions") or {}).get("paid_at"))
    Invoice.objects.update_or_create(stripe_invoice_id=invoice["id"], defaults={
        "clinic": subscription.clinic, "stripe_subscription_id": subscription_id,
        "number": invoice.get("number") or "", "status": invoice.get("status") or ("open" if failed else "paid"),
        "amount_due": invoice.get("amount_due") or 0, "amount_paid": invoice.get("amount_paid") or 0,
        "currency": (invoice.get("currency") or "eur").upper(),
        "hosted_invoice_url": invoice.get("hosted_invoice_url") or "", "invoice_pdf": invoice.get("invoice_pdf") or "",
        "payment_failed": failed, "period_start": _moment(invoice.get("period_start")),
        "period_end": _moment(invoice.get("period_end")), "paid_at": None if failed else paid_at,
        "created_at": _moment(invoice.get("created")) or timezone.now(),
    })
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


def replay_events(*, failed_only: bool = False, since: datetime | None = None) -> tuple[int, int]:
    """Process stored events again in Stripe's order; returns (applied, failed). Safe to run repeatedly."""
    events = StripeEvent.objects.all()
    if failed_only:
        events = events.filter(processed_at__isnull=True)
    if since is not None:
        events = events.filter(received_at__gte=since)
    applied = failed = 0
    for event in events.order_by("stripe_created_at", "received_at", "id").iterator():
        if process_event(event, force=True):
            applied += 1
        else:
            failed += 1
    return applied, failed
