"""dj-stripe's tables, as billing uses them for both payments backends.

- `djstripe.WebhookEndpoint`: one row for `POST /api/webhooks/stripe` (id `ENDPOINT_ID`) with dj-stripe's
  signature check and its 300 s tolerance. The row holds no secret: STRIPE_WEBHOOK_SECRET from the environment
  is handed to each verification, so the secret never sits in the database or its backups.
- `djstripe.WebhookEventTrigger`: every verified delivery, headers and body as received, linked to its event
  and marked processed once billing applied it.
- `djstripe.Event`: every Stripe event once, as Stripe rendered it. `billing.models.StripeEvent` keeps billing's
  processing state of it (applied when, error, attempts, clinic); `replay_stripe_events` processes the stored
  dj-stripe events again.
- `djstripe.Customer`, `djstripe.Subscription` (with its items, prices and products) and `djstripe.Invoice`:
  Stripe's objects mirrored from the events that carry them, with dj-stripe's `sync_from_stripe_data`.

dj-stripe ties every record to the Stripe account of an API key (`djstripe_owner_account`, read once with
GET /v1/account and kept in `djstripe.APIKey`). The offline backend has no Stripe account: it has a test-mode key
of its own and an account row made here, so its events take the same path without a network call.
"""
import json
import logging

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from djstripe.enums import WebhookEndpointStatus, WebhookEndpointValidation
from djstripe.models import Account, APIKey, Event, Product, WebhookEndpoint, WebhookEventTrigger
from djstripe.models import Customer as StripeCustomer
from djstripe.models import Invoice as StripeInvoice
from djstripe.models import Subscription as StripeSubscription

from .backends.payments import LOCAL_PRODUCT_PREFIX, PAYMENTS, SIGNATURE_TOLERANCE_SECONDS
from .plans import paid_plans

logger = logging.getLogger(__name__)

ENDPOINT_ID = "we_frontdesk_api_webhooks_stripe"
# The offline backend's "Stripe account": a test-mode key in Stripe's format (dj-stripe checks the format) that
# no Stripe account has, and the account row it belongs to.
LOCAL_API_KEY = "sk_test_frontdeskOfflinePaymentsBackend"
LOCAL_ACCOUNT_ID = "acct_frontdesk_offline"
STRIPE_API_BASE = "https://api.stripe.com"
# Headers never kept with a delivery; dj-stripe also reads the first to override the secret when DEBUG is on.
DROPPED_HEADERS = {"x-djstripe-webhook-secret", "cookie", "authorization"}


def api_key() -> str:
    """The API key dj-stripe reads and stores with: the offline backend's own, or STRIPE_SECRET_KEY with the SDK
    pointed at STRIPE_API_BASE (tests point it at a fake of api.stripe.com)."""
    if PAYMENTS.choice == "local":
        _local_account()
        return LOCAL_API_KEY
    # dj-stripe calls the SDK's module-level API, which reads stripe.api_base.
    stripe.api_base = settings.STRIPE_API_BASE or STRIPE_API_BASE
    return settings.STRIPE_SECRET_KEY


def _local_account() -> None:
    """The offline backend's account, key and one product per paid plan, made once."""
    if APIKey.objects.filter(secret=LOCAL_API_KEY, djstripe_owner_account__isnull=False).exists():
        return
    try:
        with transaction.atomic():
            account, _ = Account.objects.get_or_create(id=LOCAL_ACCOUNT_ID, defaults={
                "livemode": False, "stripe_data": {"id": LOCAL_ACCOUNT_ID, "object": "account", "settings": {
                    "dashboard": {"display_name": "Frontdesk offline payments"}}}})
            for plan in paid_plans():
                product_id = LOCAL_PRODUCT_PREFIX + plan.name
                Product.objects.get_or_create(id=product_id, defaults={
                    "name": str(plan.name), "active": True, "livemode": False, "djstripe_owner_account": account,
                    "stripe_data": {"id": product_id, "object": "product", "name": plan.name, "active": True,
                                    "type": "service", "metadata": {"plan": plan.name}}})
            APIKey.objects.update_or_create(secret=LOCAL_API_KEY, defaults={
                "type": "secret", "livemode": False, "name": "Frontdesk offline payments",
                "djstripe_owner_account": account})
    except IntegrityError:  # made meanwhile by a concurrent delivery
        pass


def webhook_endpoint() -> WebhookEndpoint:
    """The endpoint row of `POST /api/webhooks/stripe` (made on first use)."""
    endpoint = WebhookEndpoint.objects.filter(id=ENDPOINT_ID).first()
    if endpoint is not None:
        return endpoint
    from .services import HANDLERS

    try:
        with transaction.atomic():
            return WebhookEndpoint.objects.create(
                id=ENDPOINT_ID, livemode=settings.STRIPE_LIVE_MODE, secret="", status=WebhookEndpointStatus.enabled,
                url=settings.SITE_URL.rstrip("/") + "/api/webhooks/stripe", enabled_events=sorted(HANDLERS),
                api_version="", djstripe_tolerance=SIGNATURE_TOLERANCE_SECONDS,
                djstripe_validation_method=WebhookEndpointValidation.verify_signature)
    except IntegrityError:
        return WebhookEndpoint.objects.get(id=ENDPOINT_ID)


def delivery_store_if_valid(*, body: str, signature: str, secret: str, remote_ip: str) -> WebhookEventTrigger | None:
    """dj-stripe's check of a delivery (`WebhookEventTrigger.validate`, Stripe's signature scheme within the
    endpoint's tolerance); the stored delivery when it passes, None otherwise (nothing stored)."""
    headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}
    trigger = WebhookEventTrigger(headers=headers, body=body, remote_ip=remote_ip or "0.0.0.0",
                                  webhook_endpoint=webhook_endpoint())
    if not trigger.validate(api_key="", secret=secret):
        return None
    trigger.valid = True
    trigger.save()
    return trigger


def delivery_mark(trigger: WebhookEventTrigger, *, event_id: str, processed: bool, error: str) -> None:
    """Link a stored delivery to its event (by Stripe id) and record whether billing applied it."""
    trigger.event_id = event_id
    trigger.processed = processed
    trigger.exception = error[:128]
    trigger.save(update_fields=["event", "processed", "exception", "updated"])


def event_record(data: dict) -> Event:
    """dj-stripe's stored copy of a verified event (made once per Stripe id; a later delivery finds it)."""
    key = api_key()
    found = Event.objects.filter(id=data["id"]).first()
    if found is not None:
        return found
    event, _ = Event._get_or_create_from_stripe_object(data, api_key=key)
    return event


# Which of Stripe's objects are mirrored, by their `object`. A checkout session is not: billing reads what it
# needs from the event, and dj-stripe's Session would fetch its line items from Stripe's API.
MIRRORED = {"customer": StripeCustomer, "subscription": StripeSubscription, "invoice": StripeInvoice}


def mirror(data_object: dict) -> None:
    """Bring dj-stripe's copy of the object an event carries in line with it (`sync_from_stripe_data`).

    With Stripe, objects it refers to by id and that are not mirrored yet are read from Stripe's API, as dj-stripe
    does. The offline backend's objects carry what they refer to (customer, price, product) expanded, as Stripe
    does with `expand`; an offline object that refers to something unknown is not mirrored (logged): the
    mirror is a copy of Stripe's objects, never a guess."""
    model = MIRRORED.get(data_object.get("object"))
    if model is None:
        return
    key = api_key()
    if key == LOCAL_API_KEY and not _resolvable_offline(data_object):
        logger.info("Not mirroring %s %s: it refers to objects the offline backend does not have",
                    data_object.get("object"), data_object.get("id"))
        return
    # dj-stripe syncs from the SDK's objects (a subscription's items are paged with `auto_paging_iter`); a list in
    # an event is complete, so it has no further page to ask Stripe for.
    data = json.loads(json.dumps(data_object))
    for name in ("items", "lines"):
        if isinstance(data.get(name), dict):
            data[name].setdefault("has_more", False)
    with transaction.atomic():
        if isinstance(data.get("customer"), dict):
            # Mirrored on its own first, and referred to by id, as Stripe's events refer to it.
            StripeCustomer.sync_from_stripe_data(stripe.StripeObject.construct_from(data["customer"], key),
                                                 api_key=key)
            data["customer"] = data["customer"]["id"]
        model.sync_from_stripe_data(stripe.StripeObject.construct_from(data, key), api_key=key)


def _known(model, reference) -> bool:
    if isinstance(reference, dict):
        return True
    return bool(reference) and model.objects.filter(id=reference).exists()


def _price_known(price) -> bool:
    from djstripe.models import Price

    if isinstance(price, dict):
        return isinstance(price.get("product"), dict) or _known(Product, price.get("product"))
    return _known(Price, price)


def _resolvable_offline(data_object: dict) -> bool:
    if data_object.get("object") == "customer":
        return True
    if not _known(StripeCustomer, data_object.get("customer")):
        return False
    if data_object.get("object") == "subscription":
        items = (data_object.get("items") or {}).get("data") or []
        return all(_price_known(item.get("price")) for item in items)
    subscription = data_object.get("subscription")
    return not isinstance(subscription, str) or _known(StripeSubscription, subscription)
