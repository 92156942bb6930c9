"""The `stripe` payments backend: the official SDK runs against a local fake of api.stripe.com, and each test
asserts the exact request Stripe receives."""
import pytest

from billing.models import Subscription
from billing.tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk_test_frontdeskFakeStripeAccount0001"


def only_request(httpserver, path):
    requests = [request for request, _response in httpserver.log if request.path == path]
    assert len(requests) == 1, [request.path for request, _response in httpserver.log]
    return requests[0]


def stripe_subscription(price="price_premium_monthly", cancel_at_period_end=False):
    return {"id": "sub_live1", "object": "subscription", "customer": "cus_live1", "status": "active",
            "cancel_at_period_end": cancel_at_period_end, "metadata": {},
            "items": {"object": "list", "data": [{
                "id": "si_live1", "object": "subscription_item", "price": {"id": price, "object": "price"},
                "current_period_start": 1764583200, "current_period_end": 1767261600}]}}


def test_checkout_creates_a_stripe_session_tied_to_the_clinic(fake_stripe, admin_api, clinic):
    fake_stripe.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {"id": "cs_test_a1", "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/cs_test_a1"})

    response = admin_api.post("/api/billing/create-checkout", {"price_id": "price_professional_monthly"},
                              format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {"checkout_url": "https://checkout.stripe.com/c/pay/cs_test_a1",
                               "session_id": "cs_test_a1"}
    sent = only_request(fake_stripe, "/v1/checkout/sessions")
    assert sent.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    form = sent.form
    assert form["mode"] == "subscription"
    assert form["line_items[0][price]"] == "price_professional_monthly"
    assert form["line_items[0][quantity]"] == "1"
    assert form["client_reference_id"] == str(clinic.id)
    assert form["metadata[clinic_id]"] == str(clinic.id)
    assert form["metadata[plan]"] == "professional"
    assert form["subscription_data[metadata][clinic_id]"] == str(clinic.id)
    assert form["customer_email"] == admin_api.membership.user.email
    assert form["success_url"].endswith("/billing/?checkout=success")
    assert form["cancel_url"].endswith("/billing/?checkout=cancelled")


def test_a_returning_customer_is_reused_at_checkout_with_the_callers_urls(fake_stripe, make_client, clinic):
    SubscriptionFactory(clinic=clinic, plan="free", status="canceled", stripe_customer_id="cus_known")
    fake_stripe.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {"id": "cs_test_b2", "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/cs_test_b2"})

    response = make_client(clinic).post("/v1/billing/checkout", {
        "plan": "premium", "successUrl": "https://app.example.com/ok", "cancelUrl": "https://app.example.com/no"},
        format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {"sessionId": "cs_test_b2", "url": "https://checkout.stripe.com/c/pay/cs_test_b2"}
    form = only_request(fake_stripe, "/v1/checkout/sessions").form
    assert form["customer"] == "cus_known" and "customer_email" not in form
    assert form["line_items[0][price]"] == "price_premium_monthly"
    assert (form["success_url"], form["cancel_url"]) == ("https://app.example.com/ok", "https://app.example.com/no")


def test_portal_opens_a_customer_portal_session(fake_stripe, admin_api, clinic):
    SubscriptionFactory(clinic=clinic, stripe_customer_id="cus_live1")
    fake_stripe.expect_request("/v1/billing_portal/sessions", method="POST").respond_with_json(
        {"id": "bps_1", "object": "billing_portal.session", "url": "https://billing.stripe.com/p/session/test_1"})

    response = admin_api.post("/api/billing/portal", {"return_url": "https://app.example.com/billing"},
                              format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {"portal_url": "https://billing.stripe.com/p/session/test_1"}
    sent = only_request(fake_stripe, "/v1/billing_portal/sessions")
    assert sent.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert (sent.form["customer"], sent.form["return_url"]) == ("cus_live1", "https://app.example.com/billing")


def test_v1_portal_answers_the_url(fake_stripe, make_client, clinic):
    SubscriptionFactory(clinic=clinic, stripe_customer_id="cus_live1")
    fake_stripe.expect_request("/v1/billing_portal/sessions", method="POST").respond_with_json(
        {"id": "bps_2", "object": "billing_portal.session", "url": "https://billing.stripe.com/p/session/test_2"})

    response = make_client(clinic).post("/v1/billing/portal", {}, format="json")

    assert response.status_code == 200
    assert response.json() == {"url": "https://billing.stripe.com/p/session/test_2"}


def stripe_schedule(price_now="price_professional_monthly", price_next=None):
    phases = [{"start_date": 1764583200, "end_date": 1767261600,
               "items": [{"price": price_now, "quantity": 1}]}]
    if price_next:
        phases.append({"start_date": 1767261600, "end_date": 1769940000,
                       "items": [{"price": price_next, "quantity": 1}]})
    return {"id": "sub_sched_1", "object": "subscription_schedule", "subscription": "sub_live1",
            "end_behavior": "release", "current_phase": {"start_date": 1764583200, "end_date": 1767261600},
            "phases": phases}


def test_change_plan_schedules_the_new_price_from_the_period_end_with_a_subscription_schedule(
        fake_stripe, admin_api, clinic):
    SubscriptionFactory(clinic=clinic, stripe_customer_id="cus_live1", stripe_subscription_id="sub_live1")
    fake_stripe.expect_request("/v1/subscriptions/sub_live1", method="GET").respond_with_json(
        {**stripe_subscription(price="price_professional_monthly"), "schedule": None})
    fake_stripe.expect_request("/v1/subscription_schedules", method="POST").respond_with_json(stripe_schedule())
    fake_stripe.expect_request("/v1/subscription_schedules/sub_sched_1", method="POST").respond_with_json(
        stripe_schedule(price_next="price_premium_monthly"))

    response = admin_api.post("/api/billing/change-plan", {"new_price_id": "price_premium_monthly"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["message"] == "Plan change scheduled"
    assert response.json()["effective_date"] == "2026-01-01T10:00:00Z"
    assert only_request(fake_stripe, "/v1/subscription_schedules").form["from_subscription"] == "sub_live1"
    update = only_request(fake_stripe, "/v1/subscription_schedules/sub_sched_1").form
    assert update["phases[0][items][0][price]"] == "price_professional_monthly"
    assert (update["phases[0][start_date]"], update["phases[0][end_date]"]) == ("1764583200", "1767261600")
    assert update["phases[1][items][0][price]"] == "price_premium_monthly"
    assert (update["proration_behavior"], update["end_behavior"]) == ("none", "release")
    assert not [request for request, _response in fake_stripe.log
                if request.path == "/v1/subscriptions/sub_live1" and request.method == "POST"]
    subscription = Subscription.objects.get(clinic=clinic)
    assert (subscription.plan, subscription.scheduled_plan, subscription.stripe_schedule_id) == (
        "professional", "premium", "sub_sched_1")


def test_cancelling_with_a_scheduled_change_releases_the_schedule_first(fake_stripe, admin_api, clinic):
    SubscriptionFactory(clinic=clinic, stripe_customer_id="cus_live1", stripe_subscription_id="sub_live1",
                        stripe_schedule_id="sub_sched_1", scheduled_plan="premium",
                        scheduled_price_id="price_premium_monthly")
    fake_stripe.expect_request("/v1/subscription_schedules/sub_sched_1/release", method="POST").respond_with_json(
        {**stripe_schedule(), "status": "released"})
    fake_stripe.expect_request("/v1/subscriptions/sub_live1", method="POST").respond_with_json(
        {**stripe_subscription(price="price_professional_monthly", cancel_at_period_end=True), "schedule": None})

    response = admin_api.post("/api/billing/cancel", format="json")

    assert response.status_code == 200, response.json()
    assert [request.path for request, _response in fake_stripe.log] == [
        "/v1/subscription_schedules/sub_sched_1/release", "/v1/subscriptions/sub_live1"]
    subscription = Subscription.objects.get(clinic=clinic)
    assert (subscription.cancel_at_period_end, subscription.scheduled_plan, subscription.stripe_schedule_id) == (
        True, "", "")


def test_cancel_asks_stripe_to_cancel_at_period_end(fake_stripe, admin_api, clinic):
    SubscriptionFactory(clinic=clinic, stripe_customer_id="cus_live1", stripe_subscription_id="sub_live1",
                        stripe_price_id="price_premium_monthly", plan="premium")
    fake_stripe.expect_request("/v1/subscriptions/sub_live1", method="POST").respond_with_json(
        stripe_subscription(cancel_at_period_end=True))

    response = admin_api.post("/api/billing/cancel", format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {"message": "Subscription will cancel on 2026-01-01",
                               "cancellation_date": "2026-01-01T10:00:00Z"}
    assert only_request(fake_stripe, "/v1/subscriptions/sub_live1").form["cancel_at_period_end"] == "true"
    assert Subscription.objects.get(clinic=clinic).cancel_at_period_end is True


def test_a_stripe_refusal_is_a_502_in_the_surfaces_format(fake_stripe, admin_api, make_client, clinic):
    fake_stripe.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {"error": {"type": "invalid_request_error", "message": "No such price: 'price_professional_monthly'"}},
        status=400)

    response = admin_api.post("/api/billing/create-checkout", {"price_id": "price_professional_monthly"},
                              format="json")
    assert response.status_code == 502
    assert response.json()["code"] == "PAYMENT_PROVIDER_ERROR" and response.json()["detail"]

    v1 = make_client(clinic).post("/v1/billing/checkout", {"plan": "starter"}, format="json")
    assert v1.status_code == 502
    assert v1.json()["error"]["code"] == "PAYMENT_PROVIDER_ERROR"
