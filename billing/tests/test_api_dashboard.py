"""Billing on the dashboard API (docs/api/dashboard.md): subscription, usage, checkout, plan change, cancel, portal.

The payments backend here is `local`, whose actions travel as signed events through the webhook processing;
billing/tests/test_stripe_backend.py runs the same endpoints through the Stripe SDK against a fake Stripe.
"""
from datetime import timedelta

import pytest
from django.utils import timezone

from billing import services
from billing.models import Invoice, StripeEvent, Subscription
from billing.tests.factories import InvoiceFactory, SubscriptionFactory
from clinics import ratelimit
from clinics.models import Membership
from clinics.tests.factories import sign_in_verified
from telephony.tests.factories import CallFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = [("get", "/api/billing/subscription"), ("get", "/api/billing/usage"),
             ("post", "/api/billing/create-checkout"), ("post", "/api/billing/change-plan"),
             ("post", "/api/billing/cancel"), ("post", "/api/billing/portal")]


def test_a_clinic_that_never_subscribed_is_on_the_free_plan(admin_api):
    response = admin_api.get("/api/billing/subscription")

    assert response.status_code == 200
    assert response.json() == {"plan": "free", "status": "active", "current_period_end": None,
                               "cancel_at_period_end": False, "stripe_customer_id": None,
                               "stripe_subscription_id": None}


def test_subscription_shows_the_documented_fields(admin_api, clinic):
    subscription = SubscriptionFactory(clinic=clinic, stripe_customer_id="cus_xxx", stripe_subscription_id="sub_xxx")

    body = admin_api.get("/api/billing/subscription").json()

    assert body["plan"] == "professional" and body["status"] == "active"
    assert (body["stripe_customer_id"], body["stripe_subscription_id"]) == ("cus_xxx", "sub_xxx")
    assert body["current_period_end"] == subscription.current_period_end.isoformat().replace("+00:00", "Z")


def test_usage_counts_this_months_minutes_conversations_and_api_calls_against_the_free_plan(admin_api, clinic,
                                                                                           other_clinic):
    now = timezone.now()
    CallFactory(clinic=clinic, duration_secs=150, created_at=now)
    CallFactory(clinic=clinic, duration_secs=90, created_at=now)
    CallFactory(clinic=clinic, duration_secs=600, created_at=now.replace(day=1) - timedelta(days=2))  # last month
    CallFactory(clinic=other_clinic, duration_secs=6000, created_at=now)
    for _ in range(120):
        ratelimit.count_api_call(clinic)

    response = admin_api.get("/api/billing/usage")

    assert response.status_code == 200
    body = response.json()
    first = now.date().replace(day=1)
    assert body["period_start"] == first.isoformat()
    assert body["period_end"][:7] == first.isoformat()[:7] and body["period_end"] > body["period_start"]
    assert (body["minutes_used"], body["minutes_limit"], body["usage_percentage"]) == (4.0, 100, 4.0)
    assert body["conversations_count"] == 2
    # The usage request itself is an API call of the month, too.
    assert (body["api_calls_used"], body["api_calls_limit"], body["api_calls_percentage"]) == (121, 1000, 12.1)


def test_usage_follows_the_paid_period_and_the_plans_limits(admin_api, clinic):
    subscription = SubscriptionFactory(clinic=clinic, plan="starter")
    CallFactory(clinic=clinic, duration_secs=3000, created_at=subscription.current_period_start + timedelta(hours=1))
    CallFactory(clinic=clinic, duration_secs=3000, created_at=subscription.current_period_start - timedelta(hours=1))

    body = admin_api.get("/api/billing/usage").json()

    assert body["period_start"] == subscription.current_period_start.date().isoformat()
    assert (body["minutes_used"], body["minutes_limit"], body["usage_percentage"]) == (50.0, 1000, 5.0)
    assert body["api_calls_limit"] == 10_000


@pytest.mark.parametrize("role", [Membership.Role.EDITOR, Membership.Role.VIEWER])
@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_billing_is_for_admins_only(jwt_client_for, clinic, role, method, path):
    SubscriptionFactory(clinic=clinic)
    response = getattr(jwt_client_for(clinic, role), method)(path, {"price_id": "price_premium_monthly",
                                                                   "new_price_id": "price_premium_monthly"},
                                                            format="json")

    assert response.status_code == 403
    assert response.json()["detail"] == "Insufficient permissions"


@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_an_api_key_cannot_manage_billing_on_the_dashboard(client_for, method, path):
    assert getattr(client_for, method)(path, {}, format="json").status_code == 403


def test_create_checkout_without_price_id_is_a_400_detail(admin_api):
    response = admin_api.post("/api/billing/create-checkout", {}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "price_id: This field is required."


def test_create_checkout_with_a_price_of_no_plan_is_a_400_detail(admin_api):
    response = admin_api.post("/api/billing/create-checkout", {"price_id": "price_gold"}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "Unknown price: price_gold"
    assert response.json()["code"] == "UNKNOWN_PRICE"


def test_change_plan_without_new_price_id_is_a_400_detail(admin_api, clinic):
    SubscriptionFactory(clinic=clinic)
    response = admin_api.post("/api/billing/change-plan", {"price_id": "price_premium_monthly"}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "new_price_id: This field is required."


@pytest.mark.parametrize("path,body", [("/api/billing/change-plan", {"new_price_id": "price_premium_monthly"}),
                                       ("/api/billing/cancel", {}), ("/api/billing/portal", {})])
def test_managing_a_subscription_the_clinic_does_not_have_is_a_409(admin_api, path, body):
    response = admin_api.post(path, body, format="json")

    assert response.status_code == 409
    assert set(response.json()) >= {"detail", "code"}


def test_the_offline_checkout_loop_subscribes_the_clinic_through_signed_webhooks(admin_api, clinic, client):
    response = admin_api.post("/api/billing/create-checkout", {"price_id": "price_professional_monthly"},
                              format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["checkout_url"].startswith("http://") and "/billing/checkout/" in body["checkout_url"]
    path = body["checkout_url"].split("127.0.0.1:8000", 1)[-1]
    assert path.endswith(body["session_id"])

    sign_in_verified(client, admin_api.membership.user)
    page = client.get(path)
    assert page.status_code == 200
    assert "Professional" in page.content.decode()
    paid = client.post(path, {"action": "pay"})

    assert paid.status_code == 302 and paid["Location"].endswith("/billing/?checkout=success")
    subscription = Subscription.objects.get(clinic=clinic)
    assert (subscription.plan, subscription.status) == ("professional", "active")
    assert subscription.stripe_customer_id.startswith("cus_local_")
    invoice = Invoice.objects.get(clinic=clinic)
    assert (invoice.amount_paid, invoice.currency, invoice.status) == (14900, "EUR", "paid")
    assert sorted(StripeEvent.objects.filter(processed_at__isnull=False).values_list("type", flat=True)) == [
        "checkout.session.completed", "customer.subscription.created", "invoice.payment_succeeded"]
    assert admin_api.get("/api/billing/subscription").json()["plan"] == "professional"

    again = admin_api.post("/api/billing/create-checkout", {"price_id": "price_professional_monthly"},
                           format="json")
    assert again.status_code == 409


def test_item_10_change_plan_is_scheduled_for_the_period_end_as_the_document_answers(admin_api, clinic):
    """docs/api/dashboard.md, Change Plan: {"new_price_id": "price_premium_monthly"} answers
    {"message": "Plan change scheduled", "effective_date": "2025-12-08T10:00:00Z"}: the plan changes then, not now."""
    subscription = SubscriptionFactory(clinic=clinic)
    end = subscription.current_period_end

    response = admin_api.post("/api/billing/change-plan", {"new_price_id": "price_premium_monthly"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["message"] == "Plan change scheduled"
    assert body["effective_date"] == end.isoformat().replace("+00:00", "Z")
    assert (body["plan"], body["scheduled_plan"]) == ("professional", "premium")
    # Until the effective date the clinic keeps the plan it paid for, and its features.
    assert admin_api.get("/api/billing/subscription").json()["plan"] == "professional"
    subscription.refresh_from_db()
    assert (subscription.plan, subscription.stripe_price_id) == ("professional", "price_professional_monthly")
    assert (subscription.scheduled_plan, subscription.scheduled_change_at) == ("premium", end)
    assert not StripeEvent.objects.exists()
    assert admin_api.post("/api/billing/change-plan", {"new_price_id": "price_premium_monthly"},
                          format="json").json()["code"] == "SAME_PLAN"

    # The renewal (Stripe's billing clock; the offline backend's `local_renewals` task) starts the new plan.
    assert services.subscriptions_renew_offline(now=end - timedelta(seconds=1)) == 0
    assert services.subscriptions_renew_offline(now=end) == 0  # a factory subscription is not an offline one
    Subscription.objects.filter(pk=subscription.pk).update(stripe_subscription_id="sub_local_" + "a" * 24)
    assert services.subscriptions_renew_offline(now=end) == 1

    subscription.refresh_from_db()
    assert (subscription.plan, subscription.stripe_price_id) == ("premium", "price_premium_monthly")
    assert subscription.current_period_start == end and subscription.scheduled_plan == ""
    assert Invoice.objects.get(clinic=clinic).amount_due == 34900
    assert admin_api.get("/api/billing/subscription").json()["plan"] == "premium"
    assert services.subscriptions_renew_offline(now=end) == 0  # renewed once per period


def test_an_offline_subscription_cancelled_at_the_period_end_ends_at_the_renewal(admin_api, clinic):
    subscription = SubscriptionFactory(clinic=clinic, stripe_subscription_id="sub_local_" + "b" * 24)
    admin_api.post("/api/billing/cancel", format="json")

    assert services.subscriptions_renew_offline(now=subscription.current_period_end) == 1

    subscription.refresh_from_db()
    assert (subscription.plan, subscription.status) == ("free", "canceled")
    assert services.subscriptions_renew_offline(now=subscription.current_period_end) == 0


def test_naming_the_current_plan_drops_a_scheduled_change(admin_api, clinic):
    subscription = SubscriptionFactory(clinic=clinic)
    admin_api.post("/api/billing/change-plan", {"new_price_id": "price_starter_monthly"}, format="json")

    response = admin_api.post("/api/billing/change-plan", {"new_price_id": "price_professional_monthly"},
                              format="json")

    assert response.status_code == 200, response.json()
    subscription.refresh_from_db()
    assert (subscription.plan, subscription.scheduled_plan, subscription.stripe_schedule_id) == ("professional", "",
                                                                                                "")


def test_cancel_keeps_the_plan_until_the_period_ends(admin_api, clinic):
    subscription = SubscriptionFactory(clinic=clinic)

    response = admin_api.post("/api/billing/cancel", format="json")

    assert response.status_code == 200
    end = subscription.current_period_end
    assert response.json() == {"message": f"Subscription will cancel on {end.date().isoformat()}",
                               "cancellation_date": end.isoformat().replace("+00:00", "Z")}
    subscription.refresh_from_db()
    assert (subscription.plan, subscription.status, subscription.cancel_at_period_end) == ("professional", "active",
                                                                                         True)


def test_portal_answers_a_url(admin_api, clinic):
    SubscriptionFactory(clinic=clinic)

    response = admin_api.post("/api/billing/portal", {}, format="json")

    assert response.status_code == 200
    assert response.json()["portal_url"].endswith("/billing/")


def test_a_foreign_admin_sees_only_their_own_clinics_billing(jwt_client_for, clinic, other_clinic):
    SubscriptionFactory(clinic=clinic, stripe_customer_id="cus_clinic_a")
    InvoiceFactory(clinic=clinic)
    foreign = jwt_client_for(other_clinic)

    assert foreign.get("/api/billing/subscription").json()["stripe_customer_id"] is None
    assert foreign.post("/api/billing/portal", {}, format="json").status_code == 409
    assert foreign.post("/api/billing/cancel", {}, format="json").status_code == 409
    assert Subscription.objects.get(clinic=clinic).cancel_at_period_end is False


def test_a_paying_clinic_cannot_open_a_second_checkout_but_a_cancelled_one_can(admin_api, clinic):
    subscription = SubscriptionFactory(clinic=clinic, plan="starter")

    response = admin_api.post("/api/billing/create-checkout", {"price_id": "price_premium_monthly"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "ALREADY_SUBSCRIBED"

    Subscription.objects.filter(pk=subscription.pk).update(status="canceled", plan="free")
    again = admin_api.post("/api/billing/create-checkout", {"price_id": "price_premium_monthly"}, format="json")
    assert again.status_code == 200
