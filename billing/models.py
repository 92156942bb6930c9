"""A clinic's subscription, its invoices, and every Stripe event as it arrived (the ledger we replay from)."""
import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.tenancy import ClinicOwned

from .plans import FREE, PLANS


class Subscription(ClinicOwned):
    """The clinic's plan as Stripe last told us (webhooks are the source of truth, the API calls only start them).

    A clinic without a row is on the free plan. `stripe_event_at` is the `created` time of the newest
    subscription event applied, so an older event delivered late never overwrites a newer state.
    """

    class Status(models.TextChoices):
        # Stripe's subscription statuses, verbatim.
        INCOMPLETE = "incomplete", _("Incomplete")
        INCOMPLETE_EXPIRED = "incomplete_expired", _("Incomplete, expired")
        TRIALING = "trialing", _("Trialing")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        CANCELED = "canceled", _("Canceled")
        UNPAID = "unpaid", _("Unpaid")
        PAUSED = "paused", _("Paused")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.OneToOneField("clinics.Clinic", on_delete=models.CASCADE, related_name="subscription")
    plan = models.CharField(max_length=20, choices=[(name, plan.label) for name, plan in PLANS.items()],
                            default=FREE)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    stripe_customer_id = models.CharField(max_length=255, blank=True, default="")
    stripe_subscription_id = models.CharField(max_length=255, blank=True, default="")
    stripe_price_id = models.CharField(max_length=255, blank=True, default="")
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    # A plan change waiting for the renewal (Stripe's subscription schedule: its second phase starts then).
    stripe_schedule_id = models.CharField(max_length=255, blank=True, default="")
    scheduled_plan = models.CharField(max_length=20, blank=True, default="",
                                      choices=[(name, plan.label) for name, plan in PLANS.items()])
    scheduled_price_id = models.CharField(max_length=255, blank=True, default="")
    scheduled_change_at = models.DateTimeField(null=True, blank=True)
    stripe_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stripe_customer_id"], condition=~models.Q(stripe_customer_id=""),
                                    name="subscription_unique_stripe_customer"),
            models.UniqueConstraint(fields=["stripe_subscription_id"],
                                    condition=~models.Q(stripe_subscription_id=""),
                                    name="subscription_unique_stripe_subscription"),
        ]

    def __str__(self):
        return f"{self.clinic} {self.plan} ({self.status})"


class Invoice(ClinicOwned):
    """One Stripe invoice of a clinic, amounts in minor units."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="invoices")
    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, default="")
    number = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=20, blank=True, default="")
    amount_due = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="EUR")
    hosted_invoice_url = models.URLField(max_length=1000, blank=True, default="")
    invoice_pdf = models.URLField(max_length=1000, blank=True, default="")
    payment_failed = models.BooleanField(default=False)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["clinic", "created_at", "id"], name="invoice_clinic_created_idx")]
        constraints = [
            # Only web addresses: these become links on the billing page (never `javascript:` or `data:`).
            models.CheckConstraint(condition=models.Q(hosted_invoice_url="") | models.Q(
                hosted_invoice_url__iregex=r"^https?://"), name="invoice_hosted_url_is_web"),
            models.CheckConstraint(condition=models.Q(invoice_pdf="") | models.Q(invoice_pdf__iregex=r"^https?://"),
                                   name="invoice_pdf_url_is_web"),
        ]

    def __str__(self):
        return f"{self.number or self.stripe_invoice_id} {self.amount_display}"

    @property
    def amount_display(self) -> str:
        return f"{self.amount_due / 100:.2f} {self.currency}"


class StripeEvent(ClinicOwned):
    """Billing's processing of one of the Stripe events dj-stripe stored (`djstripe.Event`, see
    billing/stripe_records.py): applied when, the error that kept it from being applied, the clinic it moved.

    `processed_at` is set once a handler succeeded; `error` keeps why it did not. `replay_stripe_events` processes
    stored events again; the handlers are upserts, so replaying changes nothing already right.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    stripe_id = models.CharField(max_length=255, unique=True)
    event = models.OneToOneField("djstripe.Event", to_field="id", on_delete=models.PROTECT,
                                 related_name="billing_processing")
    type = models.CharField(max_length=100, db_index=True)
    livemode = models.BooleanField(default=False)
    stripe_created_at = models.DateTimeField(null=True, blank=True)
    clinic = models.ForeignKey("clinics.Clinic", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["received_at", "id"]

    def __str__(self):
        return f"{self.stripe_id} {self.type}"

    @property
    def payload(self) -> dict:
        """The event as Stripe sent it (dj-stripe's stored copy)."""
        return self.event.stripe_data

    @property
    def failed(self) -> bool:
        return self.processed_at is None and bool(self.error)
