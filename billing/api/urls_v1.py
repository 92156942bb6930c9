"""Routes of the billing app on the v1 surface."""
from django.urls import path

from . import views

urlpatterns = [
    path("billing/status", views.BillingStatusV1.as_view(), name="v1-billing-status"),
    path("billing/checkout", views.CheckoutV1.as_view(), name="v1-billing-checkout"),
    path("billing/portal", views.PortalV1.as_view(), name="v1-billing-portal"),
    path("billing/invoices", views.InvoiceListV1.as_view(), name="v1-billing-invoices"),
    path("billing/invoices/<uuid:pk>", views.InvoiceDetailV1.as_view(), name="v1-billing-invoice"),
]
