"""Routes of the billing app on the dashboard surface, and Stripe's webhook (signature-verified, never limited)."""
from django.urls import path

from billing import webhooks

from . import views

urlpatterns = [
    path("billing/subscription", views.SubscriptionView.as_view(), name="dashboard-billing-subscription"),
    path("billing/usage", views.UsageView.as_view(), name="dashboard-billing-usage"),
    path("billing/create-checkout", views.CreateCheckoutView.as_view(), name="dashboard-billing-checkout"),
    path("billing/change-plan", views.ChangePlanView.as_view(), name="dashboard-billing-change-plan"),
    path("billing/cancel", views.CancelView.as_view(), name="dashboard-billing-cancel"),
    path("billing/portal", views.PortalView.as_view(), name="dashboard-billing-portal"),
    path("webhooks/stripe", webhooks.stripe_webhook, name="billing_stripe_webhook"),
]
