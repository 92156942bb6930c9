"""The dashboard product end to end, in the order docs/api/dashboard.md follows: register, the agent, the agent books
a call's appointment, analytics counts it, then billing: checkout, Stripe's webhook, the plan.

Everything goes over HTTP with the documented requests. Stripe is the `stripe` payments backend with the official
SDK (and dj-stripe) pointed at a local fake of api.stripe.com; its events reach `POST /api/webhooks/stripe` signed
exactly as Stripe signs them. The clinic's professional and service come from factories: the dashboard document
has no endpoint for them (the clinic API v1 has).
"""
import datetime as dt
import hashlib
import hmac
import json
import time
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from djstripe.models import Subscription as StripeSubscription
from djstripe.models import WebhookEventTrigger
from rest_framework.test import APIClient

from billing.backends.payments import PAYMENTS
from billing.models import Invoice, Subscription
from clinics.models import Clinic
from scheduling.tests.factories import ProfessionalFactory, ServiceFactory

pytestmark = pytest.mark.django_db

WEBHOOK_SECRET = "whsec_e2e_dashboard_secret"
PERIOD_START, PERIOD_END = 1764583200, 1767261600  # 2025-12-01T10:00:00Z, 2026-01-01T10:00:00Z


@pytest.fixture
def stripe_fake(settings, httpserver):
    settings.PROVIDERS = {**settings.PROVIDERS, "payments": "stripe"}
    settings.STRIPE_SECRET_KEY = "sk_test_frontdeskEndToEndDashboard01"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = httpserver.url_for("").rstrip("/")
    settings.STRIPE_PRICE_STARTER = "price_starter_monthly"
    settings.STRIPE_PRICE_PROFESSIONAL = "price_professional_monthly"
    settings.STRIPE_PRICE_PREMIUM = "price_premium_monthly"
    PAYMENTS.reset()
    yield httpserver
    PAYMENTS.reset()


def signed_delivery(client, event_type, data_object, event_id):
    """POST an event to the webhook with `Stripe-Signature: t=...,v1=HMAC-SHA256(secret, "t.payload")`."""
    event = {"id": event_id, "object": "event", "api_version": "2025-09-30.clover", "created": int(time.time()),
             "livemode": False, "type": event_type, "data": {"object": data_object}}
    payload = json.dumps(event)
    timestamp = int(time.time())
    digest = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return client.generic("POST", "/api/webhooks/stripe", payload, content_type="application/json",
                          HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={digest}")


def test_register_agent_booking_analytics_then_checkout_webhook_and_plan(stripe_fake):
    api = APIClient()
    # 1. Register and log in.
    registered = api.post("/api/auth/register", {"email": "owner@acme.example", "password": "SecurePass123!x",
                                                 "company_name": "Acme Medical"}, format="json")
    assert registered.status_code == 201, registered.content
    login = api.post("/api/auth/login", {"email": "owner@acme.example", "password": "SecurePass123!x"},
                     format="json").json()
    assert login["user"]["plan"] == "free"
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {login['access_token']}")
    clinic = Clinic.objects.get(name="Acme Medical")

    # 2. The clinic's agent and its token for the agent actions.
    agent = api.get("/api/agents").json()
    assert agent["agent_id"] == login["agent"]["agent_id"]
    token = api.get(f"/api/agents/{agent['agent_id']}/api-token").json()["api_token"]

    # 3. During a call, the agent books an appointment.
    service = ServiceFactory(clinic=clinic, duration_minutes=30, name="Consulta geral")
    ProfessionalFactory(clinic=clinic, services=[service], hours=[(day, "09:00", "17:00") for day in range(7)])
    day = (dt.datetime.now(ZoneInfo(clinic.timezone)) + dt.timedelta(days=3)).date()
    agent_api = APIClient()
    agent_api.credentials(HTTP_X_AGENT_TOKEN=token)
    booked = agent_api.post(f"/api/agent-actions/book-appointment/{agent['agent_id']}", {
        "patient_name": "John Doe", "patient_phone": "+351912345678", "patient_email": "john@example.com",
        "date": day.isoformat(), "time": "14:00", "duration_minutes": 30, "reason": "Annual checkup"}, format="json")
    assert booked.status_code == 201, booked.content
    assert booked.json()["success"] is True

    # 4. Analytics counts the booking.
    assert api.get("/api/analytics/stats", {"days": 7}).json()["appointments_booked"] == 1

    # 5. Billing: a Checkout session at Stripe.
    stripe_fake.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {"id": "cs_test_e2e", "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/cs_test_e2e"})
    checkout = api.post("/api/billing/create-checkout", {"price_id": "price_professional_monthly"}, format="json")
    assert checkout.json() == {"checkout_url": "https://checkout.stripe.com/c/pay/cs_test_e2e",
                               "session_id": "cs_test_e2e"}
    sent = stripe_fake.log[-1][0].form
    assert (sent["client_reference_id"], sent["line_items[0][price]"]) == (str(clinic.id),
                                                                          "price_professional_monthly")

    # 6. The customer pays; Stripe sends its events. dj-stripe reads the account of the key once.
    stripe_fake.expect_request("/v1/account", method="GET").respond_with_json(
        {"id": "acct_e2e", "object": "account", "settings": {"dashboard": {"display_name": "Acme test"}}})
    stripe_fake.expect_request("/v1/products/prod_professional/features", method="GET").respond_with_json(
        {"object": "list", "data": [], "has_more": False, "url": "/v1/products/prod_professional/features"})
    customer = {"id": "cus_e2e", "object": "customer", "livemode": False, "created": PERIOD_START,
                "email": "owner@acme.example", "metadata": {"clinic_id": str(clinic.id)}}
    metadata = {"clinic_id": str(clinic.id), "plan": "professional"}
    product = {"id": "prod_professional", "object": "product", "name": "Professional", "active": True,
               "livemode": False, "created": PERIOD_START, "type": "service", "metadata": {}}
    price = {"id": "price_professional_monthly", "object": "price", "active": True, "currency": "eur",
             "unit_amount": 14900, "livemode": False, "created": PERIOD_START, "type": "recurring",
             "billing_scheme": "per_unit", "product": product, "metadata": {},
             "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}}
    subscription = {"id": "sub_e2e", "object": "subscription", "customer": customer, "status": "active",
                    "livemode": False, "created": PERIOD_START, "start_date": PERIOD_START, "metadata": metadata,
                    "cancel_at_period_end": False, "collection_method": "charge_automatically", "schedule": None,
                    "items": {"object": "list", "data": [{
                        "id": "si_e2e", "object": "subscription_item", "price": price, "quantity": 1,
                        "subscription": "sub_e2e",
                        "created": PERIOD_START, "metadata": {}, "current_period_start": PERIOD_START,
                        "current_period_end": PERIOD_END}]}}
    webhook = APIClient()
    for event_type, data_object, event_id in [
        ("checkout.session.completed", {"id": "cs_test_e2e", "object": "checkout.session", "mode": "subscription",
                                        "customer": "cus_e2e", "subscription": "sub_e2e", "metadata": metadata,
                                        "client_reference_id": str(clinic.id), "status": "complete"}, "evt_e2e_1"),
        ("customer.subscription.created", subscription, "evt_e2e_2"),
        ("invoice.payment_succeeded", {
            "id": "in_e2e", "object": "invoice", "customer": "cus_e2e", "number": "ACME-0001", "status": "paid",
            "amount_due": 14900, "amount_paid": 14900, "currency": "eur", "livemode": False,
            "created": PERIOD_START, "period_start": PERIOD_START, "period_end": PERIOD_END,
            "hosted_invoice_url": "https://invoice.stripe.com/i/acct_e2e/in_e2e",
            "status_transitions": {"paid_at": PERIOD_START + 5},
            "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_e2e"}}},
         "evt_e2e_3"),
    ]:
        response = signed_delivery(webhook, event_type, data_object, event_id)
        assert response.status_code == 200, (event_type, response.content)

    # 7. The plan: the subscription, the login's features, the invoice; Stripe's objects mirrored by dj-stripe.
    assert api.get("/api/billing/subscription").json() == {
        "plan": "professional", "status": "active", "current_period_end": "2026-01-01T10:00:00Z",
        "cancel_at_period_end": False, "stripe_customer_id": "cus_e2e", "stripe_subscription_id": "sub_e2e"}
    again = APIClient().post("/api/auth/login", {"email": "owner@acme.example", "password": "SecurePass123!x"},
                             format="json").json()
    assert (again["user"]["plan"], again["features"]["minutes_limit"]) == ("professional", 4200)
    assert StripeSubscription.objects.get(id="sub_e2e").customer_id == "cus_e2e"
    assert WebhookEventTrigger.objects.filter(valid=True, processed=True).count() == 3

    # 8. Replaying dj-stripe's stored events changes nothing.
    def state():
        return (list(Subscription.objects.values()), list(Invoice.objects.values()),
                list(StripeSubscription.objects.values("id", "stripe_data")))

    before = state()
    call_command("replay_stripe_events")
    assert state() == before
