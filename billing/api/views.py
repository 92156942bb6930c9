"""Billing on the API surfaces: thin views over billing.services and billing.selectors.

Billing is managed by the clinic's admins only: on the dashboard an admin member (editors and viewers get 403);
on /v1 an admin member or an API key with `write`, which docs/api/clinic-v1.md treats as the clinic's
administrator.
"""
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.api.permissions import ActsAsClinicAdmin, IsClinicAdmin
from config.surfaces.tenancy import ClinicScopedMixin
from config.surfaces import DASHBOARD, V1

from .. import selectors, services
from ..return_urls import console_url
from ..models import Invoice
from . import serializers

ERRORS = {400: OpenApiResponse(description="Invalid body"), 403: OpenApiResponse(description="Not an admin"),
          409: OpenApiResponse(description="No subscription, or already on that plan"),
          502: OpenApiResponse(description="The payment provider failed")}


def _valid(serializer_class, request):
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


def _email(request) -> str:
    return getattr(request.user, "email", "") or ""


# --- Dashboard (docs/api/dashboard.md) --------------------------------------------------------------------------------


class DashboardBillingView(DASHBOARD.view, APIView):
    permission_classes = [IsClinicAdmin]

    @property
    def clinic(self):
        return self.request.auth.clinic


class SubscriptionView(DashboardBillingView):
    """GET /api/billing/subscription"""

    @extend_schema(responses={200: serializers.SubscriptionSerializer, 403: ERRORS[403]})
    def get(self, request):
        return Response(serializers.SubscriptionSerializer(selectors.subscription_of(self.clinic)).data)


class UsageView(DashboardBillingView):
    """GET /api/billing/usage: minutes and conversations of the period, API calls of the month."""

    @extend_schema(responses={200: serializers.UsageSerializer, 403: ERRORS[403]})
    def get(self, request):
        return Response(serializers.UsageSerializer(selectors.usage_of(self.clinic)).data)


class CreateCheckoutView(DashboardBillingView):
    """POST /api/billing/create-checkout {price_id}"""

    @extend_schema(request=serializers.CreateCheckoutSerializer,
                   responses={200: serializers.CheckoutSerializer, **ERRORS})
    def post(self, request):
        data = _valid(serializers.CreateCheckoutSerializer, request)
        session = services.checkout_start(clinic=self.clinic, actor=request, price_id=data["price_id"],
                                          success_url=data.get("success_url") or console_url("?checkout=success"),
                                          cancel_url=data.get("cancel_url") or console_url("?checkout=cancelled"),
                                          email=_email(request))
        return Response({"checkout_url": session.url, "session_id": session.id})


class ChangePlanView(DashboardBillingView):
    """POST /api/billing/change-plan {new_price_id}: scheduled for the end of the paid period (`effective_date`);
    the clinic keeps `plan` until then. Naming the current plan drops a scheduled change."""

    @extend_schema(request=serializers.ChangePlanSerializer,
                   responses={200: serializers.PlanChangedSerializer, **ERRORS})
    def post(self, request):
        data = _valid(serializers.ChangePlanSerializer, request)
        subscription = services.subscription_change_plan(clinic=self.clinic, actor=request,
                                                         price_id=data["new_price_id"])
        scheduled = bool(subscription.scheduled_plan)
        return Response({"message": _("Plan change scheduled") if scheduled else _("Scheduled plan change cancelled"),
                         "effective_date": subscription.scheduled_change_at, "plan": subscription.plan,
                         "scheduled_plan": subscription.scheduled_plan or None})


class CancelView(DashboardBillingView):
    """POST /api/billing/cancel: at the end of the paid period."""

    @extend_schema(request=None, responses={200: serializers.CancelledSerializer, **ERRORS})
    def post(self, request):
        subscription = services.subscription_cancel(clinic=self.clinic, actor=request)
        end = subscription.current_period_end
        message = (_("Subscription will cancel on %(date)s") % {"date": end.date().isoformat()} if end
                   else _("Subscription will cancel at the end of the period"))
        return Response({"message": message, "cancellation_date": end})


class PortalView(DashboardBillingView):
    """POST /api/billing/portal"""

    @extend_schema(request=serializers.PortalRequestSerializer,
                   responses={200: serializers.PortalSerializer, **ERRORS})
    def post(self, request):
        data = _valid(serializers.PortalRequestSerializer, request)
        url = services.portal_open(clinic=self.clinic, actor=request,
                                   return_url=data.get("return_url") or console_url())
        return Response({"portal_url": url})


# --- Clinic API v1 (docs/api/clinic-v1.md) ----------------------------------------------------------------------------


class V1BillingView(V1.view, APIView):
    permission_classes = [ActsAsClinicAdmin]

    @property
    def clinic(self):
        return self.request.auth.clinic


class BillingStatusV1(V1BillingView):
    """GET /v1/billing/status: plan and usage (minutes, API calls against the plan's allowance)."""

    @extend_schema(responses={200: serializers.BillingStatusV1Serializer})
    def get(self, request):
        subscription = selectors.subscription_of(self.clinic)
        plan = selectors.plan_of(subscription)
        return Response(serializers.BillingStatusV1Serializer({
            "plan": plan.name, "status": subscription.status, "currentPeriodEnd": subscription.current_period_end,
            "cancelAtPeriodEnd": subscription.cancel_at_period_end, "features": plan.features(),
            "usage": selectors.usage_of(self.clinic)}).data)


class CheckoutV1(V1BillingView):
    """POST /v1/billing/checkout {priceId | plan, successUrl?, cancelUrl?} → Stripe Checkout URL."""

    @extend_schema(request=serializers.CheckoutRequestV1Serializer,
                   responses={200: serializers.CheckoutV1Serializer, **ERRORS})
    def post(self, request):
        data = _valid(serializers.CheckoutRequestV1Serializer, request)
        session = services.checkout_start(clinic=self.clinic, actor=request, price_id=data.get("priceId"),
                                          plan_name=data.get("plan"),
                                          success_url=data.get("successUrl") or console_url("?checkout=success"),
                                          cancel_url=data.get("cancelUrl") or console_url("?checkout=cancelled"),
                                          email=_email(request))
        return Response({"sessionId": session.id, "url": session.url})


class PortalV1(V1BillingView):
    """POST /v1/billing/portal {returnUrl?} → Stripe Customer Portal URL."""

    @extend_schema(request=serializers.PortalRequestV1Serializer,
                   responses={200: serializers.PortalV1Serializer, **ERRORS})
    def post(self, request):
        data = _valid(serializers.PortalRequestV1Serializer, request)
        return Response({"url": services.portal_open(clinic=self.clinic, actor=request,
                                                     return_url=data.get("returnUrl") or console_url())})


class InvoiceListV1(V1.view, ClinicScopedMixin, generics.ListAPIView):
    """GET /v1/billing/invoices: oldest first, keyset cursor."""

    permission_classes = [ActsAsClinicAdmin]
    queryset = Invoice.objects.all()
    serializer_class = serializers.InvoiceV1Serializer
    cursor_fields = (("createdAt", "created_at"), ("id", "id"))


class InvoiceDetailV1(V1.view, ClinicScopedMixin, generics.RetrieveAPIView):
    """GET /v1/billing/invoices/:id"""

    permission_classes = [ActsAsClinicAdmin]
    queryset = Invoice.objects.all()
    serializer_class = serializers.InvoiceV1Serializer

