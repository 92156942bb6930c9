"""Shapes of billing on the dashboard API (docs/api/dashboard.md, snake_case) and the clinic API v1
(docs/api/clinic-v1.md, camelCase)."""
from datetime import timedelta

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..models import Invoice


def last_day(end):
    """The last day a period [start, end) covers, as the dashboard shows it ("2025-11-30")."""
    return (end - timedelta(microseconds=1)).date()


# --- Dashboard (docs/api/dashboard.md) --------------------------------------------------------------------------------


class SubscriptionSerializer(serializers.Serializer):
    plan = serializers.CharField()
    status = serializers.CharField()
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    stripe_customer_id = serializers.CharField(allow_null=True)
    stripe_subscription_id = serializers.CharField(allow_null=True)

    def to_representation(self, subscription):
        return super().to_representation({
            "plan": subscription.plan, "status": subscription.status,
            "current_period_end": subscription.current_period_end,
            "cancel_at_period_end": subscription.cancel_at_period_end,
            "stripe_customer_id": subscription.stripe_customer_id or None,
            "stripe_subscription_id": subscription.stripe_subscription_id or None,
        })


class UsageSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    minutes_used = serializers.FloatField()
    minutes_limit = serializers.IntegerField()
    usage_percentage = serializers.FloatField()
    conversations_count = serializers.IntegerField()
    api_calls_used = serializers.IntegerField()
    api_calls_limit = serializers.IntegerField()
    api_calls_percentage = serializers.FloatField()

    def to_representation(self, usage):
        return super().to_representation({**usage, "period_start": usage["period_start"].date(),
                                           "period_end": last_day(usage["period_end"])})


class CreateCheckoutSerializer(serializers.Serializer):
    price_id = serializers.CharField(max_length=255)
    success_url = serializers.URLField(required=False, max_length=1000)
    cancel_url = serializers.URLField(required=False, max_length=1000)


class CheckoutSerializer(serializers.Serializer):
    checkout_url = serializers.URLField()
    session_id = serializers.CharField()


class ChangePlanSerializer(serializers.Serializer):
    new_price_id = serializers.CharField(max_length=255)


class PlanChangedSerializer(serializers.Serializer):
    message = serializers.CharField()
    effective_date = serializers.DateTimeField(allow_null=True)
    plan = serializers.CharField(help_text="The plan until effective_date.")
    scheduled_plan = serializers.CharField(allow_null=True, help_text="The plan from effective_date.")


class CancelledSerializer(serializers.Serializer):
    message = serializers.CharField()
    cancellation_date = serializers.DateTimeField(allow_null=True)


class PortalRequestSerializer(serializers.Serializer):
    return_url = serializers.URLField(required=False, max_length=1000)


class PortalSerializer(serializers.Serializer):
    portal_url = serializers.URLField()


# --- Clinic API v1 (docs/api/clinic-v1.md) ----------------------------------------------------------------------------


class CheckoutRequestV1Serializer(serializers.Serializer):
    priceId = serializers.CharField(max_length=255, required=False)
    plan = serializers.CharField(max_length=20, required=False)
    successUrl = serializers.URLField(required=False, max_length=1000)
    cancelUrl = serializers.URLField(required=False, max_length=1000)

    def validate(self, attrs):
        if not attrs.get("priceId") and not attrs.get("plan"):
            raise serializers.ValidationError({"priceId": [_("Give priceId or plan.")]})
        return attrs


class CheckoutV1Serializer(serializers.Serializer):
    sessionId = serializers.CharField()
    url = serializers.URLField()


class PortalRequestV1Serializer(serializers.Serializer):
    returnUrl = serializers.URLField(required=False, max_length=1000)


class PortalV1Serializer(serializers.Serializer):
    url = serializers.URLField()


class UsageV1Serializer(serializers.Serializer):
    periodStart = serializers.DateTimeField(source="period_start")
    periodEnd = serializers.DateTimeField(source="period_end")
    minutesUsed = serializers.FloatField(source="minutes_used")
    minutesLimit = serializers.IntegerField(source="minutes_limit")
    minutesPercentage = serializers.FloatField(source="usage_percentage")
    conversationsCount = serializers.IntegerField(source="conversations_count")
    apiCallsUsed = serializers.IntegerField(source="api_calls_used")
    apiCallsLimit = serializers.IntegerField(source="api_calls_limit")
    apiCallsPercentage = serializers.FloatField(source="api_calls_percentage")


class BillingStatusV1Serializer(serializers.Serializer):
    plan = serializers.CharField()
    status = serializers.CharField()
    currentPeriodEnd = serializers.DateTimeField(allow_null=True)
    cancelAtPeriodEnd = serializers.BooleanField()
    features = serializers.DictField()
    usage = UsageV1Serializer()


class InvoiceV1Serializer(serializers.ModelSerializer):
    stripeInvoiceId = serializers.CharField(source="stripe_invoice_id")
    amountDue = serializers.IntegerField(source="amount_due")
    amountPaid = serializers.IntegerField(source="amount_paid")
    paymentFailed = serializers.BooleanField(source="payment_failed")
    hostedInvoiceUrl = serializers.CharField(source="hosted_invoice_url")
    invoicePdf = serializers.CharField(source="invoice_pdf")
    periodStart = serializers.DateTimeField(source="period_start")
    periodEnd = serializers.DateTimeField(source="period_end")
    paidAt = serializers.DateTimeField(source="paid_at")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Invoice
        fields = ["id", "stripeInvoiceId", "number", "status", "amountDue", "amountPaid", "currency", "paymentFailed",
                  "hostedInvoiceUrl", "invoicePdf", "periodStart", "periodEnd", "paidAt", "createdAt"]
        read_only_fields = fields
