"""A Stripe event or a checkout for clinic A never touches clinic B's subscription or invoices, whatever ids the
event carries; such an event is stored with its error for a human (and a replay) instead."""
import pytest

from billing.models import Invoice, StripeEvent, Subscription
from billing.tests.conftest import make_event
from billing.tests.factories import InvoiceFactory, SubscriptionFactory
from billing.tests.test_webhooks import checkout_object, invoice_object, subscription_object
from clinics.tests.factories import MembershipFactory, sign_in_verified

pytestmark = pytest.mark.django_db


def _snapshot(subscription):
    subscription.refresh_from_db()
    return (subscription.plan, subscription.status, subscription.stripe_customer_id,
            subscription.stripe_subscription_id, subscription.stripe_price_id, subscription.cancel_at_period_end)


@pytest.fixture
def subscription_of_b(other_clinic):
    return SubscriptionFactory(clinic=other_clinic, plan="starter", stripe_customer_id="cus_B",
                               stripe_subscription_id="sub_B", stripe_price_id="price_starter_monthly")


def test_checkout_of_clinic_a_with_clinic_bs_customer_leaves_b_alone(send_event, clinic, subscription_of_b):
    before = _snapshot(subscription_of_b)
    event = make_event("checkout.session.completed",
                       checkout_object(clinic, customer="cus_B", subscription="sub_new", plan="premium"))

    response = send_event(event)

    assert response.status_code == 202
    assert response.json()["processed"] is False and "another clinic" in response.json()["error"]
    assert _snapshot(subscription_of_b) == before
    assert not Subscription.objects.filter(clinic=clinic).exists()
    assert StripeEvent.objects.get(stripe_id=event["id"]).processed_at is None


def test_subscription_event_for_clinic_a_with_clinic_bs_subscription_id_leaves_b_alone(send_event, clinic,
                                                                                       subscription_of_b):
    before = _snapshot(subscription_of_b)
    event = make_event("customer.subscription.updated", subscription_object(
        subscription_id="sub_B", customer="cus_B", price="price_premium_monthly", clinic=clinic))

    assert send_event(event).status_code == 202
    assert _snapshot(subscription_of_b) == before
    assert not Subscription.objects.filter(clinic=clinic).exists()


def test_invoice_of_clinic_b_is_never_moved_to_clinic_a(send_event, clinic, other_clinic):
    SubscriptionFactory(clinic=clinic, stripe_customer_id="cus_A", stripe_subscription_id="sub_A")
    theirs = InvoiceFactory(clinic=other_clinic, stripe_invoice_id="in_B", amount_paid=100)

    response = send_event(make_event("invoice.payment_succeeded",
                                     invoice_object(invoice_id="in_B", customer="cus_A", subscription="sub_A")))

    assert response.status_code == 202
    theirs.refresh_from_db()
    assert theirs.clinic_id == other_clinic.id and theirs.amount_paid == 100
    assert not Invoice.objects.filter(clinic=clinic).exists()


def test_events_of_each_clinic_update_only_their_own_subscription(send_event, clinic, subscription_of_b):
    before = _snapshot(subscription_of_b)
    SubscriptionFactory(clinic=clinic, plan="starter", stripe_customer_id="cus_A", stripe_subscription_id="sub_A")

    response = send_event(make_event("customer.subscription.updated", subscription_object(
        subscription_id="sub_A", customer="cus_A", price="price_premium_monthly", clinic=clinic)))

    assert response.status_code == 200
    assert Subscription.objects.get(clinic=clinic).plan == "premium"
    assert _snapshot(subscription_of_b) == before


def test_a_checkout_started_by_clinic_a_carries_only_clinic_as_customer(jwt_client_for, clinic, subscription_of_b):
    SubscriptionFactory(clinic=clinic, stripe_customer_id="cus_A", stripe_subscription_id="",
                        status=Subscription.Status.CANCELED)
    client = jwt_client_for(clinic)

    response = client.post("/api/billing/create-checkout", {"price_id": "price_premium_monthly"}, format="json")

    assert response.status_code == 200, response.content
    assert "cus_B" not in response.json()["checkout_url"]
    assert _snapshot(subscription_of_b)[0] == "starter"


def test_another_clinics_invoice_is_404_on_v1(foreign_client, clinic):
    invoice = InvoiceFactory(clinic=clinic)
    response = foreign_client.get(f"/v1/billing/invoices/{invoice.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_unknown_plan_in_the_console_is_a_message_not_an_error_page(client, clinic):
    sign_in_verified(client, MembershipFactory(clinic=clinic, role="admin").user)
    response = client.post("/billing/upgrade/", {"plan": "x" * 5000}, follow=True)
    assert response.status_code == 200
    assert "Unknown plan" in response.content.decode()
    assert not Subscription.objects.filter(clinic=clinic).exists()
