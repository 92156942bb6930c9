"""Stripe may deliver the same event twice at once: it is stored and applied once."""
import threading

import pytest
from django.db import connection
from django.test import Client

from billing.models import Invoice, StripeEvent
from billing.tests.conftest import make_event, post_event
from billing.tests.factories import SubscriptionFactory
from billing.tests.test_webhooks import invoice_object


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_deliveries_of_one_event_store_and_apply_it_once(clinic):
    SubscriptionFactory(clinic=clinic, stripe_customer_id="cus_1", stripe_subscription_id="sub_1")
    event = make_event("invoice.payment_succeeded", invoice_object())
    barrier = threading.Barrier(2)
    statuses = []

    def deliver():
        try:
            barrier.wait()
            statuses.append(post_event(Client(), event).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(statuses) == [200, 200]
    stored = StripeEvent.objects.get()
    assert stored.attempts == 1 and stored.processed_at is not None
    assert Invoice.objects.count() == 1
