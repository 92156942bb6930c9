"""Fixtures of billing: Stripe events signed exactly as Stripe signs them, members of each role, a fake Stripe."""
import hashlib
import hmac
import json
import time
import uuid

import pytest

from billing.backends.payments import PAYMENTS

WEBHOOK_SECRET = "whsec_test_secret_for_billing"
WEBHOOK_URL = "/api/webhooks/stripe"


@pytest.fixture(autouse=True)
def billing_settings(settings):
    """A known webhook secret, the offline backend unless a test picks Stripe."""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PROVIDERS = {**settings.PROVIDERS, "payments": "local"}
    settings.STRIPE_PRICE_STARTER = "price_starter_monthly"
    settings.STRIPE_PRICE_PROFESSIONAL = "price_professional_monthly"
    settings.STRIPE_PRICE_PREMIUM = "price_premium_monthly"
    PAYMENTS.reset()
    yield settings
    PAYMENTS.reset()


@pytest.fixture
def fake_stripe(settings, httpserver):
    """The `stripe` backend, its SDK pointed at a local fake of api.stripe.com."""
    settings.PROVIDERS = {**settings.PROVIDERS, "payments": "stripe"}
    settings.STRIPE_SECRET_KEY = "sk_test_frontdeskFakeStripeAccount0001"
    settings.STRIPE_API_BASE = httpserver.url_for("").rstrip("/")
    PAYMENTS.reset()
    return httpserver


def stripe_signature(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """`Stripe-Signature` as Stripe computes it: v1 = HMAC-SHA256(secret, f"{t}.{payload}")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def make_event(event_type: str, data_object: dict, event_id: str | None = None, created: int | None = None) -> dict:
    return {"id": event_id or f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "api_version": "2025-09-30.clover",
            "created": created or int(time.time()), "livemode": False, "type": event_type,
            "data": {"object": data_object}}


def post_event(client, event: dict, secret: str = WEBHOOK_SECRET, timestamp: int | None = None,
               signature: str | None = None):
    payload = json.dumps(event)
    header = signature if signature is not None else stripe_signature(payload, secret, timestamp)
    return client.generic("POST", WEBHOOK_URL, payload, content_type="application/json",
                          HTTP_STRIPE_SIGNATURE=header)


@pytest.fixture
def send_event(client):
    """`send_event(event)` posts it to the webhook signed with the configured secret."""
    return lambda event, **kwargs: post_event(client, event, **kwargs)


@pytest.fixture
def admin_api(jwt_client_for, clinic):
    return jwt_client_for(clinic)
