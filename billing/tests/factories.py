from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from billing.models import Invoice, Subscription
from clinics.tests.factories import ClinicFactory


class SubscriptionFactory(DjangoModelFactory):
    class Meta:
        model = Subscription

    clinic = factory.SubFactory(ClinicFactory)
    plan = "professional"
    status = Subscription.Status.ACTIVE
    stripe_customer_id = factory.Sequence(lambda n: f"cus_test{n}")
    stripe_subscription_id = factory.Sequence(lambda n: f"sub_test{n}")
    stripe_price_id = "price_professional_monthly"
    current_period_start = factory.LazyFunction(lambda: (timezone.now() - timedelta(days=10)).replace(microsecond=0))
    current_period_end = factory.LazyFunction(lambda: (timezone.now() + timedelta(days=20)).replace(microsecond=0))


class InvoiceFactory(DjangoModelFactory):
    class Meta:
        model = Invoice

    clinic = factory.SubFactory(ClinicFactory)
    stripe_invoice_id = factory.Sequence(lambda n: f"in_test{n}")
    number = factory.Sequence(lambda n: f"FD-{n:04d}")
    status = "paid"
    amount_due = 14900
    amount_paid = 14900
    currency = "EUR"
