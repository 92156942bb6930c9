"""dj-stripe under billing (billing/stripe_records.py): the webhook's deliveries and Stripe's events in its tables,
the objects they carry mirrored there, replays through its stored events; and issue 12 item 11 (the published
development webhook secret, invoice links)."""
import json

import pytest
from django.core.management import call_command
from django.db import IntegrityError
from djstripe.models import Customer as StripeCustomer
from djstripe.models import Event, WebhookEventTrigger
from djstripe.models import Invoice as StripeInvoice
from djstripe.models import Subscription as StripeSubscription

from billing.backends.payments import LOCAL_WEBHOOK_SECRET
from billing.checks import published_webhook_secret
from billing.models import Invoice, StripeEvent, Subscription
from billing.tests.conftest import make_event, post_event, stripe_signature
from billing.tests.factories import InvoiceFactory, SubscriptionFactory
from billing.tests.test_webhooks import checkout_object, invoice_object, subscription_object
from clinics.tests.factories import sign_in_verified

pytestmark = pytest.mark.django_db


def test_a_verified_delivery_and_its_event_are_kept_by_dj_stripe(send_event, clinic):
    event = make_event("checkout.session.completed", checkout_object(clinic))

    assert send_event(event).status_code == 200

    stored = Event.objects.get(id=event["id"])
    assert (stored.type, stored.data, stored.stripe_data) == ("checkout.session.completed", event["data"], event)
    trigger = WebhookEventTrigger.objects.get()
    assert (trigger.valid, trigger.processed, trigger.event_id) == (True, True, event["id"])
    assert json.loads(trigger.body) == event and "Stripe-Signature" in trigger.headers
    assert StripeEvent.objects.get().event == stored


def test_a_refused_delivery_is_not_stored_anywhere(client, clinic):
    response = post_event(client, make_event("checkout.session.completed", checkout_object(clinic)),
                          secret="whsec_someone_else")

    assert response.status_code == 400
    assert not WebhookEventTrigger.objects.exists() and not Event.objects.exists()


def test_dj_stripes_debug_secret_header_does_not_let_a_caller_choose_the_secret(client, clinic, settings):
    """dj-stripe takes the secret from an `X-Djstripe-Webhook-Secret` header when DEBUG is on (for the Stripe CLI);
    billing never passes that header on, so a caller cannot sign with a secret of their own."""
    settings.DEBUG = True
    payload = json.dumps(make_event("checkout.session.completed", checkout_object(clinic)))

    response = client.generic("POST", "/api/webhooks/stripe", payload, content_type="application/json",
                              HTTP_STRIPE_SIGNATURE=stripe_signature(payload, "whsec_chosen_by_the_caller"),
                              HTTP_X_DJSTRIPE_WEBHOOK_SECRET="whsec_chosen_by_the_caller")

    assert response.status_code == 400
    assert not Subscription.objects.exists()


def _state():
    return (list(Subscription.objects.values()), list(Invoice.objects.values()),
            list(StripeSubscription.objects.values("id", "stripe_data")),
            list(StripeCustomer.objects.values("id", "stripe_data")), Event.objects.count(),
            list(StripeEvent.objects.values("stripe_id", "processed_at", "error", "clinic")))


def test_a_stripe_webhook_replayed_through_dj_stripes_stored_events_changes_nothing_the_second_time(
        admin_api, clinic, client):
    """The offline checkout sends Stripe's three events; replaying dj-stripe's stored events, twice, and
    delivering one of them again change nothing."""
    checkout = admin_api.post("/api/billing/create-checkout", {"price_id": "price_professional_monthly"},
                              format="json").json()
    sign_in_verified(client, admin_api.membership.user)
    client.post(checkout["checkout_url"].split("127.0.0.1:8000", 1)[-1], {"action": "pay"})
    assert Event.objects.count() == 3 and StripeEvent.objects.filter(processed_at__isnull=False).count() == 3
    before = _state()

    call_command("replay_stripe_events")
    after_first = _state()
    call_command("replay_stripe_events")

    # processed_at is when the event was first applied; a replay re-applies, and nothing it wrote moved.
    assert after_first[:5] == before[:5]
    assert _state()[:5] == before[:5]
    assert list(StripeEvent.objects.values_list("attempts", flat=True)) == [3, 3, 3]

    stored = Event.objects.get(type="invoice.payment_succeeded")
    again = post_event(client, stored.stripe_data)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert _state()[:5] == before[:5]


def test_the_offline_checkout_mirrors_the_customer_subscription_and_invoice_in_dj_stripe(admin_api, clinic,
                                                                                        client):
    checkout = admin_api.post("/api/billing/create-checkout", {"price_id": "price_premium_monthly"},
                              format="json").json()
    sign_in_verified(client, admin_api.membership.user)
    client.post(checkout["checkout_url"].split("127.0.0.1:8000", 1)[-1], {"action": "pay"})

    ours = Subscription.objects.get(clinic=clinic)
    mirrored = StripeSubscription.objects.get(id=ours.stripe_subscription_id)
    assert mirrored.customer.id == ours.stripe_customer_id
    assert StripeCustomer.objects.get(id=ours.stripe_customer_id).stripe_data["metadata"] == {
        "clinic_id": str(clinic.id)}
    assert [item.price.id for item in mirrored.items.all()] == ["price_premium_monthly"]
    invoice = Invoice.objects.get(clinic=clinic)
    assert StripeInvoice.objects.get(id=invoice.stripe_invoice_id).stripe_data["amount_paid"] == 34900


def test_an_event_naming_objects_unknown_offline_is_applied_without_a_mirror(send_event, clinic):
    send_event(make_event("customer.subscription.created", subscription_object(clinic=clinic)))

    assert Subscription.objects.get(clinic=clinic).plan == "professional"
    assert not StripeSubscription.objects.exists()


# --- Issue 12, item 11 ---------------------------------------------------------------------------------------------


def test_item_11_events_signed_with_the_published_demo_secret_are_refused_outside_development(client, clinic,
                                                                                              settings):
    event = make_event("checkout.session.completed", checkout_object(clinic))
    for configured in ("", LOCAL_WEBHOOK_SECRET):  # unset (the offline fallback), or set to the published value
        settings.STRIPE_WEBHOOK_SECRET = configured
        response = post_event(client, event, secret=LOCAL_WEBHOOK_SECRET)
        assert response.status_code == 503, configured  # this server's configuration is at fault
        assert response.json()["code"] == "WEBHOOK_NOT_CONFIGURED"
        assert "development secret published with Frontdesk" in response.json()["detail"]
    assert not Subscription.objects.exists() and not Event.objects.exists()

    settings.DEBUG = True  # `make run`: the offline demo works on it
    assert post_event(client, event, secret=LOCAL_WEBHOOK_SECRET).status_code == 200


def test_item_11_the_deploy_check_flags_the_published_webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = LOCAL_WEBHOOK_SECRET
    assert [problem.id for problem in published_webhook_secret(None)] == ["billing.E001"]
    settings.DEBUG = True
    assert published_webhook_secret(None) == []
    settings.DEBUG = False
    settings.STRIPE_WEBHOOK_SECRET = "whsec_of_this_deployment_only"
    assert published_webhook_secret(None) == []


def test_item_11_the_offline_checkout_with_the_published_secret_says_why_it_refuses(admin_api, clinic, client,
                                                                                    settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    checkout = admin_api.post("/api/billing/create-checkout", {"price_id": "price_starter_monthly"},
                              format="json").json()
    sign_in_verified(client, admin_api.membership.user)

    paid = client.post(checkout["checkout_url"].split("127.0.0.1:8000", 1)[-1], {"action": "pay"}, follow=True)

    assert "STRIPE_WEBHOOK_SECRET is the development secret published with Frontdesk" in paid.content.decode()
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", " JavaScript:alert(1)",
                                 "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)",
                                 "//evil.example/x"])
def test_item_11_an_invoice_url_that_is_not_http_is_never_kept_nor_rendered_as_a_link(send_event, admin_api, clinic,
                                                                                      client, make_client, url):
    SubscriptionFactory(clinic=clinic, stripe_customer_id="cus_1", stripe_subscription_id="sub_1")
    send_event(make_event("invoice.payment_succeeded", {**invoice_object(), "hosted_invoice_url": url,
                                                        "invoice_pdf": url}))

    invoice = Invoice.objects.get(clinic=clinic)
    assert (invoice.hosted_invoice_url, invoice.invoice_pdf) == ("", "")
    sign_in_verified(client, admin_api.membership.user)
    page = client.get("/billing/").content.decode()
    assert invoice.number in page and url.strip() not in page and "javascript:" not in page.lower()
    body = make_client(clinic).get(f"/v1/billing/invoices/{invoice.id}").json()
    assert (body["hostedInvoiceUrl"], body["invoicePdf"]) == ("", "")


def test_item_11_an_https_invoice_url_is_a_link(send_event, admin_api, clinic, client):
    SubscriptionFactory(clinic=clinic, stripe_customer_id="cus_1", stripe_subscription_id="sub_1")
    send_event(make_event("invoice.payment_succeeded", invoice_object()))

    sign_in_verified(client, admin_api.membership.user)
    assert 'href="https://invoice.stripe.com/i/acct_1/test"' in client.get("/billing/").content.decode()


def test_item_11_the_database_refuses_an_invoice_url_that_is_not_http(clinic):
    with pytest.raises(IntegrityError):
        InvoiceFactory(clinic=clinic, hosted_invoice_url="javascript:alert(1)")
