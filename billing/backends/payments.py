"""Payments: Stripe Checkout, the Customer Portal, plan changes and webhook verification, picked by
`settings.PROVIDERS["payments"]`.

`stripe` talks to Stripe through the official SDK. `local` works offline: its Checkout is a console page that
simulates the payment and then delivers correctly signed events to the same webhook processing as Stripe's, so
the whole loop (checkout → webhook → subscription → invoice) runs on a laptop.
"""
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from billing.plans import get_plan, plan_for_price
from config.providers import Capability, register

# Stripe's own tolerance: a signature older than five minutes is a replay.
SIGNATURE_TOLERANCE_SECONDS = 300


class PaymentsError(Exception):
    """The payment provider refused or could not be reached."""


class InvalidSignature(Exception):
    """A webhook whose `Stripe-Signature` is missing, wrong or too old."""


class MissingSignature(InvalidSignature):
    """A webhook without a `Stripe-Signature` header: not sent by Stripe, or stripped on its way here."""


class WebhookNotConfigured(Exception):
    """No event can be verified: STRIPE_WEBHOOK_SECRET is unset, or is a published secret outside development. A
    fault of this server's configuration, not of the delivery."""


@dataclass
class CheckoutSession:
    id: str
    url: str


def verify_webhook(payload: bytes, sig_header: str | None, *, remote_ip: str = "127.0.0.1"):
    """(event, trigger): the event in `payload` and dj-stripe's stored delivery, when `sig_header` is Stripe's v1
    HMAC-SHA256 of `t.payload` under STRIPE_WEBHOOK_SECRET, signed at most five minutes ago; raises InvalidSignature
    otherwise (MissingSignature without the header), and WebhookNotConfigured when there is no usable secret to
    check it against.

    dj-stripe checks the signature (`WebhookEventTrigger.validate` against the endpoint row of
    `billing.stripe_records`), and the verified delivery is kept as its `WebhookEventTrigger`. A delivery that
    fails is logged, never stored: the webhook is not rate limited, so storing refusals would let anyone fill the
    database."""
    from billing import stripe_records

    try:
        secret = webhook_secret()
    except PublishedWebhookSecret as exc:
        raise WebhookNotConfigured(str(exc))
    if not secret:
        raise WebhookNotConfigured("STRIPE_WEBHOOK_SECRET is not set, so no Stripe event can be verified.")
    if not sig_header:
        raise MissingSignature("No Stripe-Signature header.")
    try:
        body = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        event = json.loads(body)
    except ValueError:  # UnicodeDecodeError is a ValueError too
        raise InvalidSignature("The payload is not JSON.")
    # dj-stripe's check below refuses an event without an "id" or "livemode" key; an empty id or no type it takes.
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise InvalidSignature("The payload is not a Stripe event.")
    trigger = stripe_records.delivery_store_if_valid(body=body, signature=sig_header, secret=secret,
                                                     remote_ip=remote_ip)
    if trigger is None:
        raise InvalidSignature("The Stripe-Signature does not match the payload, or is older than five minutes.")
    return event, trigger


# The offline backend signs its simulated events with this secret when STRIPE_WEBHOOK_SECRET is unset. It is
# published in this repository, so anybody can sign with it: it is accepted only with DEBUG on (`make run`),
# refused everywhere else (and flagged by the deploy check billing.E001). With Stripe, an unset secret refuses
# every event rather than accept ones anybody could sign.
LOCAL_WEBHOOK_SECRET = "whsec_local_development_only"
PUBLISHED_WEBHOOK_SECRETS = frozenset({LOCAL_WEBHOOK_SECRET})


class PublishedWebhookSecret(PaymentsError):
    """STRIPE_WEBHOOK_SECRET is a secret published in this repository while DEBUG is off."""


def configured_webhook_secret() -> str:
    """The secret as configured: STRIPE_WEBHOOK_SECRET, or the development secret for the offline backend."""
    if settings.STRIPE_WEBHOOK_SECRET:
        return settings.STRIPE_WEBHOOK_SECRET
    return LOCAL_WEBHOOK_SECRET if PAYMENTS.choice == "local" else ""


def webhook_secret() -> str:
    """The secret Stripe-Signature is checked against (empty: no event is accepted). Raises
    PublishedWebhookSecret when it is a published one and DEBUG is off."""
    secret = configured_webhook_secret()
    if secret in PUBLISHED_WEBHOOK_SECRETS and not settings.DEBUG:
        raise PublishedWebhookSecret(
            "STRIPE_WEBHOOK_SECRET is the development secret published in this repository; outside development "
            "set it to the endpoint's own signing secret (whsec_...).")
    return secret


def sign_payload(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header for `payload`, computed as Stripe computes it (the local backend signs with it)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class PaymentsBackend:
    """The contract the billing services use; every method raises PaymentsError when the provider refuses."""

    name = ""

    def create_checkout(self, *, clinic, plan, customer_id: str, customer_email: str, success_url: str,
                        cancel_url: str) -> CheckoutSession:
        raise NotImplementedError

    def create_portal(self, *, customer_id: str, return_url: str) -> str:
        raise NotImplementedError

    def schedule_price_change(self, subscription, price_id: str) -> dict:
        """Put the subscription on a subscription schedule whose second phase, from the end of the current
        period, bills `price_id`; returns the schedule (`id`, `phases` with their `start_date`)."""
        raise NotImplementedError

    def release_schedule(self, subscription) -> None:
        """Drop the subscription's schedule (and the change it holds); the subscription goes on as it is."""
        raise NotImplementedError

    def cancel_at_period_end(self, subscription) -> dict | None:
        raise NotImplementedError


class StripePaymentsBackend(PaymentsBackend):
    """Stripe through the official SDK (`stripe` 15): Checkout in subscription mode, the Customer Portal,
    subscription updates. Tests point `STRIPE_API_BASE` at a local fake of api.stripe.com."""

    name = "stripe"

    def client(self):
        import stripe

        options = {"max_network_retries": 2,
                   "http_client": stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS)}
        if settings.STRIPE_API_BASE:
            options["base_addresses"] = {"api": settings.STRIPE_API_BASE}
        return stripe.StripeClient(settings.STRIPE_SECRET_KEY, **options)

    def _call(self, operation, *args, **kwargs):
        import stripe

        try:
            return operation(*args, **kwargs)
        except stripe.StripeError as exc:
            status = getattr(exc, "http_status", None)
            raise PaymentsError(f"Stripe answered {status or 'nothing'}: {exc.user_message or exc.__class__.__name__}")

    def create_checkout(self, *, clinic, plan, customer_id, customer_email, success_url, cancel_url):
        metadata = {"clinic_id": str(clinic.id), "plan": plan.name}
        params = {
            "mode": "subscription",
            "line_items": [{"price": plan.price_id, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            # Both tie the payment to the clinic: the session by reference, its subscription by metadata, so
            # subscription events that overtake checkout.session.completed still find their clinic.
            "client_reference_id": str(clinic.id),
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
        }
        if customer_id:
            params["customer"] = customer_id
        elif customer_email:
            params["customer_email"] = customer_email
        session = self._call(self.client().v1.checkout.sessions.create, params)
        return CheckoutSession(id=session.id, url=session.url)

    def create_portal(self, *, customer_id, return_url):
        session = self._call(self.client().v1.billing_portal.sessions.create,
                             {"customer": customer_id, "return_url": return_url})
        return session.url

    def schedule_price_change(self, subscription, price_id):
        client = self.client()
        schedule_id = subscription.stripe_schedule_id
        if not schedule_id:
            current = self._call(client.v1.subscriptions.retrieve, subscription.stripe_subscription_id)
            schedule_id = current.to_dict().get("schedule") or ""
            if isinstance(schedule_id, dict):
                schedule_id = schedule_id.get("id") or ""
        if schedule_id:
            schedule = self._call(client.v1.subscription_schedules.retrieve, schedule_id)
        else:
            schedule = self._call(client.v1.subscription_schedules.create,
                                  {"from_subscription": subscription.stripe_subscription_id})
        schedule = schedule.to_dict()
        phases = schedule.get("phases") or []
        current_phase = schedule.get("current_phase") or {}
        phase = next((phase for phase in phases if phase.get("start_date") == current_phase.get("start_date")),
                     phases[0] if phases else None)
        if phase is None or not phase.get("end_date"):
            raise PaymentsError("The Stripe subscription schedule has no current phase to keep.")
        kept = [{"price": item["price"]["id"] if isinstance(item.get("price"), dict) else item["price"],
                 "quantity": item.get("quantity") or 1} for item in phase.get("items") or []]
        # The current phase stays as it is until its end; the new price bills from then, without proration, and
        # the schedule lets the subscription go on by itself once the change is made.
        updated = self._call(client.v1.subscription_schedules.update, schedule["id"], {
            "end_behavior": "release", "proration_behavior": "none",
            "phases": [{"items": kept, "start_date": phase["start_date"], "end_date": phase["end_date"]},
                       {"items": [{"price": price_id, "quantity": 1}], "iterations": 1}]})
        return updated.to_dict()

    def release_schedule(self, subscription):
        if subscription.stripe_schedule_id:
            self._call(self.client().v1.subscription_schedules.release, subscription.stripe_schedule_id)

    def cancel_at_period_end(self, subscription):
        updated = self._call(self.client().v1.subscriptions.update, subscription.stripe_subscription_id,
                             {"cancel_at_period_end": True})
        return updated.to_dict()


# --- The offline backend ---------------------------------------------------------------------------------------

LOCAL_CHECKOUT_SALT = "billing.local-checkout"
LOCAL_PRODUCT_PREFIX = "prod_local_"
LOCAL_CHECKOUT_MAX_AGE = 24 * 3600


def _local_id(prefix: str) -> str:
    return f"{prefix}_local_{uuid.uuid4().hex[:24]}"


class LocalPaymentsBackend(PaymentsBackend):
    """Works offline. Checkout is the console page `/billing/checkout/<session>`; paying there, changing the plan
    or cancelling delivers the events Stripe would send, signed with STRIPE_WEBHOOK_SECRET, to the webhook
    processing, so state changes exactly as with Stripe."""

    name = "local"

    def create_checkout(self, *, clinic, plan, customer_id, customer_email, success_url, cancel_url):
        session = signing.dumps({"session": _local_id("cs"), "clinic": str(clinic.id), "plan": plan.name,
                                 "price": plan.price_id, "customer": customer_id, "success": success_url,
                                 "cancel": cancel_url}, salt=LOCAL_CHECKOUT_SALT, compress=True)
        url = settings.SITE_URL.rstrip("/") + reverse("billing:checkout", args=[session])
        return CheckoutSession(id=session, url=url)

    def create_portal(self, *, customer_id, return_url):
        # No hosted portal offline: the console billing page offers the same plan changes and cancellation.
        return settings.SITE_URL.rstrip("/") + reverse("billing:index")

    SUBSCRIPTION_PREFIX = "sub_local_"

    def schedule_price_change(self, subscription, price_id):
        # What Stripe answers for a schedule made from the subscription and given a second phase; the change
        # happens when `renew` reaches the end of the period (the billing clock that Stripe runs by itself).
        start, end = _epoch(subscription.current_period_start), _epoch(subscription.current_period_end)
        return {"id": subscription.stripe_schedule_id or _local_id("sub_sched"), "object": "subscription_schedule",
                "subscription": subscription.stripe_subscription_id, "end_behavior": "release",
                "phases": [{"start_date": start, "end_date": end,
                            "items": [{"price": subscription.stripe_price_id, "quantity": 1}]},
                           {"start_date": end, "end_date": None, "iterations": 1,
                            "items": [{"price": price_id, "quantity": 1}]}]}

    def release_schedule(self, subscription):
        return None

    def renew(self, subscription) -> None:
        """The end of a paid period, as Stripe bills it: a subscription cancelled at the period end is deleted;
        any other renews for another month, on the scheduled price if a change was scheduled, and its invoice
        is paid."""
        if subscription.cancel_at_period_end:
            self.deliver("customer.subscription.deleted", self.subscription_object(
                subscription, status="canceled", schedule=None))
            return
        start = subscription.current_period_end
        end = start + timedelta(days=30)
        price_id = subscription.scheduled_price_id or subscription.stripe_price_id
        plan = plan_for_price(price_id) or get_plan(subscription.plan)
        self.deliver("customer.subscription.updated", self.subscription_object(
            subscription, items=[self.subscription_item(price_id, plan, subscription.stripe_subscription_id)],
            schedule=None,
            current_period_start=int(start.timestamp()), current_period_end=int(end.timestamp())))
        self.deliver("invoice.payment_succeeded", self.invoice_object(
            customer=subscription.stripe_customer_id, subscription_id=subscription.stripe_subscription_id,
            plan=plan, start=start, end=end))

    def cancel_at_period_end(self, subscription):
        self.deliver("customer.subscription.updated", self.subscription_object(
            subscription, cancel_at_period_end=True))
        return None

    # The simulated payment (console checkout page).

    @staticmethod
    def open_session(session: str) -> dict | None:
        """The checkout a local session token describes, or None when forged or older than a day."""
        try:
            return signing.loads(session, salt=LOCAL_CHECKOUT_SALT, max_age=LOCAL_CHECKOUT_MAX_AGE)
        except signing.BadSignature:
            return None

    def complete_checkout(self, checkout: dict) -> None:
        """Pay a local checkout: the three events Stripe sends for a new subscription, in Stripe's order."""
        now = timezone.now()
        plan = get_plan(checkout["plan"])
        customer = checkout["customer"] or _local_id("cus")
        subscription_id = self.SUBSCRIPTION_PREFIX + uuid.uuid4().hex[:24]
        metadata = {"clinic_id": checkout["clinic"], "plan": plan.name}
        period_end = now + timedelta(days=30)
        subscription = {
            "id": subscription_id, "object": "subscription", "customer": self.customer_object(customer, checkout),
            "status": "active", "cancel_at_period_end": False, "metadata": metadata, "livemode": False,
            "created": int(now.timestamp()), "start_date": int(now.timestamp()), "collection_method":
                "charge_automatically", "currency": plan.currency.lower(), "schedule": None,
            "current_period_start": int(now.timestamp()), "current_period_end": int(period_end.timestamp()),
            "items": {"object": "list", "data": [self.subscription_item(checkout["price"], plan, subscription_id)]},
        }
        self.deliver("checkout.session.completed", {
            "id": checkout["session"], "object": "checkout.session", "mode": "subscription", "status": "complete",
            "payment_status": "paid", "customer": customer, "subscription": subscription_id,
            "client_reference_id": checkout["clinic"], "metadata": metadata})
        self.deliver("customer.subscription.created", subscription)
        self.deliver("invoice.payment_succeeded", self.invoice_object(
            customer=customer, subscription_id=subscription_id, plan=plan, start=now, end=period_end))

    # Stripe's objects, as Stripe renders them with their references expanded: dj-stripe mirrors them from the
    # event alone, with no Stripe API to ask offline (billing/stripe_records.py).

    @staticmethod
    def customer_object(customer_id: str, checkout: dict | None = None) -> dict:
        return {"id": customer_id, "object": "customer", "livemode": False, "created": int(time.time()),
                "email": None, "metadata": {"clinic_id": checkout["clinic"]} if checkout else {},
                "currency": "eur", "balance": 0, "delinquent": False, "invoice_prefix": "LOCAL"}

    @staticmethod
    def subscription_item(price_id: str, plan, subscription_id: str) -> dict:
        # The product is named by id: billing/stripe_records.py keeps a product row per paid plan offline (dj-stripe
        # would otherwise ask Stripe for a new product's features).
        price = {"id": price_id, "object": "price", "active": True, "currency": plan.currency.lower(),
                 "unit_amount": plan.monthly_price, "livemode": False, "created": 0, "type": "recurring",
                 "billing_scheme": "per_unit", "recurring": {"interval": "month", "interval_count": 1,
                                                             "usage_type": "licensed"},
                 "product": LOCAL_PRODUCT_PREFIX + plan.name, "metadata": {}}
        return {"id": _local_id("si"), "object": "subscription_item", "price": price, "quantity": 1,
                "subscription": subscription_id, "created": int(time.time()), "metadata": {}}

    @staticmethod
    def invoice_object(*, customer: str, subscription_id: str, plan, start, end) -> dict:
        return {
            "id": _local_id("in"), "object": "invoice", "customer": customer, "subscription": subscription_id,
            "number": f"LOCAL-{start:%Y%m%d}-{uuid.uuid4().hex[:6].upper()}", "status": "paid",
            "amount_due": plan.monthly_price, "amount_paid": plan.monthly_price, "currency": plan.currency.lower(),
            "hosted_invoice_url": "", "invoice_pdf": "", "created": int(start.timestamp()), "livemode": False,
            "period_start": int(start.timestamp()), "period_end": int(end.timestamp()),
            "status_transitions": {"paid_at": int(timezone.now().timestamp())}}

    def subscription_object(self, subscription, **changes) -> dict:
        """Stripe's subscription object for a stored subscription, with `changes` applied."""
        items = changes.pop("items", None) or [self.subscription_item(
            subscription.stripe_price_id, get_plan(subscription.plan), subscription.stripe_subscription_id)]
        body = {
            "id": subscription.stripe_subscription_id, "object": "subscription", "livemode": False,
            "customer": subscription.stripe_customer_id, "status": subscription.status,
            "cancel_at_period_end": subscription.cancel_at_period_end,
            "metadata": {"clinic_id": str(subscription.clinic_id)}, "created": _epoch(subscription.created_at),
            "start_date": _epoch(subscription.created_at), "collection_method": "charge_automatically",
            "current_period_start": _epoch(subscription.current_period_start),
            "current_period_end": _epoch(subscription.current_period_end),
            "items": {"object": "list", "data": items},
        }
        body.update(changes)
        return body

    @staticmethod
    def deliver(event_type: str, data_object: dict) -> None:
        """Sign an event as Stripe does and hand it to the webhook's own entry point."""
        from billing import services

        event = {"id": _local_id("evt"), "object": "event", "type": event_type, "api_version": "local",
                 "created": int(time.time()), "livemode": False, "data": {"object": data_object}}
        payload = json.dumps(event)
        services.stripe_webhook_receive(payload=payload.encode(),
                                        signature=sign_payload(payload, webhook_secret()))


def _epoch(moment) -> int | None:
    return int(moment.timestamp()) if moment else None


PAYMENTS = register(Capability("payments", {
    "local": "billing.backends.payments.LocalPaymentsBackend",
    "stripe": "billing.backends.payments.StripePaymentsBackend",
}))
