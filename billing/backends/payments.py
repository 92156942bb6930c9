"""Payments: Stripe Checkout, the Customer Portal, plan changes and webhook verification, picked by
`settings.PROVIDERS["payments"]`.

`stripe` talks to Stripe through the official SDK. `local` works offline: its Checkout is a console page that
simulates the payment and then delivers correctly signed events to the same webhook processing as Stripe's, so
the whole loop (checkout → webhook → subscription → invoice) runs on a laptop.
"""
import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from billing.plans import get_plan
from config.providers import Capability, register

logger = logging.getLogger(__name__)

# Stripe's own tolerance: a signature older than five minutes is a replay.
SIGNATURE_TOLERANCE_SECONDS = 300


class PaymentsError(Exception):
    """The payment provider refused or could not be reached."""


class InvalidSignature(Exception):
    """A webhook whose `Stripe-Signature` is missing, wrong or too old."""


@dataclass
class CheckoutSession:
    id: str
    url: str


def verify_webhook(payload: bytes, sig_header: str | None) -> dict:
    """The event in `payload` when `sig_header` is Stripe's v1 HMAC-SHA256 of `t.payload` under
    STRIPE_WEBHOOK_SECRET, signed at most five minutes ago; raises InvalidSignature otherwise."""
    import stripe

    secret = webhook_secret()
    if not sig_header or not secret:
        raise InvalidSignature("Missing Stripe-Signature header or webhook secret.")
    try:
        # The signature alone first: the SDK's construct_event parses the body and breaks on JSON that is
        # not an object before we can refuse it.
        stripe.WebhookSignature.verify_header(payload.decode("utf-8") if isinstance(payload, bytes) else payload,
                                              sig_header, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS)
        event = json.loads(payload)
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(str(exc.user_message or exc))
    except ValueError:
        raise InvalidSignature("The payload is not JSON.")
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise InvalidSignature("The payload is not a Stripe event.")
    return event


# Only the offline backend may fall back to a known secret: it signs its own simulated events with it. With Stripe,
# an unset STRIPE_WEBHOOK_SECRET refuses every event rather than accept ones anybody could sign.
LOCAL_WEBHOOK_SECRET = "whsec_local_development_only"


def webhook_secret() -> str:
    """The secret Stripe-Signature is checked against (empty: no event is accepted)."""
    if settings.STRIPE_WEBHOOK_SECRET:
        return settings.STRIPE_WEBHOOK_SECRET
    return LOCAL_WEBHOOK_SECRET if PAYMENTS.choice == "local" else ""


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

    def change_price(self, subscription, price_id: str) -> dict | None:
        """Move the subscription to `price_id` from its next renewal; returns Stripe's subscription object to
        apply at once, or None when the change arrives by webhook only."""
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

    def change_price(self, subscription, price_id):
        client = self.client()
        current = self._call(client.v1.subscriptions.retrieve, subscription.stripe_subscription_id)
        items = current.to_dict().get("items", {}).get("data", [])
        if not items:
            raise PaymentsError("The Stripe subscription has no item to change.")
        # No proration: the clinic keeps what it paid for until the period ends, the new price bills from then.
        updated = self._call(client.v1.subscriptions.update, subscription.stripe_subscription_id, {
            "items": [{"id": items[0]["id"], "price": price_id}], "proration_behavior": "none",
            "cancel_at_period_end": False})
        return updated.to_dict()

    def cancel_at_period_end(self, subscription):
        updated = self._call(self.client().v1.subscriptions.update, subscription.stripe_subscription_id,
                             {"cancel_at_period_end": True})
        return updated.to_dict()


# --- The offline backend ---------------------------------------------------------------------------------------

LOCAL_CHECKOUT_SALT = "billing.local-checkout"
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

    def change_price(self, subscription, price_id):
        item = {"id": _local_id("si"), "price": {"id": price_id, "object": "price"}}
        self.deliver("customer.subscription.updated", self.subscription_object(
            subscription, items=[item], cancel_at_period_end=False))
        return None

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
        subscription_id = _local_id("sub")
        metadata = {"clinic_id": checkout["clinic"], "plan": plan.name}
        period_end = now + timedelta(days=30)
        subscription = {
            "id": subscription_id, "object": "subscription", "customer": customer, "status": "active",
            "cancel_at_period_end": False, "metadata": metadata,
            "current_period_start": int(now.timestamp()), "current_period_end": int(period_end.timestamp()),
            "items": {"object": "list", "data": [{"id": _local_id("si"),
                                                  "price": {"id": checkout["price"], "object": "price"}}]},
        }
        self.deliver("checkout.session.completed", {
            "id": checkout["session"], "object": "checkout.session", "mode": "subscription", "status": "complete",
            "payment_status": "paid", "customer": customer, "subscription": subscription_id,
            "client_reference_id": checkout["clinic"], "metadata": metadata})
        self.deliver("customer.subscription.created", subscription)
        self.deliver("invoice.payment_succeeded", {
            "id": _local_id("in"), "object": "invoice", "customer": customer, "subscription": subscription_id,
            "number": f"LOCAL-{now:%Y%m%d}-{uuid.uuid4().hex[:6].upper()}", "status": "paid",
            "amount_due": plan.monthly_price, "amount_paid": plan.monthly_price, "currency": plan.currency.lower(),
            "hosted_invoice_url": "", "invoice_pdf": "", "created": int(now.timestamp()),
            "period_start": int(now.timestamp()), "period_end": int(period_end.timestamp()),
            "status_transitions": {"paid_at": int(now.timestamp())}})

    @staticmethod
    def subscription_object(subscription, **changes) -> dict:
        """Stripe's subscription object for a stored subscription, with `changes` applied."""
        items = changes.pop("items", None) or [{"id": _local_id("si"),
                                                "price": {"id": subscription.stripe_price_id, "object": "price"}}]
        body = {
            "id": subscription.stripe_subscription_id, "object": "subscription",
            "customer": subscription.stripe_customer_id, "status": subscription.status,
            "cancel_at_period_end": subscription.cancel_at_period_end,
            "metadata": {"clinic_id": str(subscription.clinic_id)},
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
