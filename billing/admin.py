from django.contrib import admin

import djstripe.admin  # noqa: F401 (registered first, so that the loop below replaces its registrations)
from clinics.admin_scoping import ClinicScopedAdmin, superuser_only

from .models import Invoice, StripeEvent, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(ClinicScopedAdmin):
    list_display = ("clinic", "plan", "status", "current_period_end", "cancel_at_period_end", "stripe_customer_id")
    list_filter = ("plan", "status")
    search_fields = ("clinic__name", "stripe_customer_id", "stripe_subscription_id")
    readonly_fields = [field.name for field in Subscription._meta.fields]


@admin.register(Invoice)
class InvoiceAdmin(ClinicScopedAdmin):
    list_display = ("stripe_invoice_id", "clinic", "number", "status", "amount_due", "currency", "created_at")
    list_filter = ("status", "payment_failed")
    search_fields = ("stripe_invoice_id", "number", "clinic__name")
    readonly_fields = [field.name for field in Invoice._meta.fields]


@admin.register(StripeEvent)
class StripeEventAdmin(ClinicScopedAdmin):
    list_display = ("stripe_id", "type", "clinic", "received_at", "processed_at", "attempts", "error")
    list_filter = ("type", ("processed_at", admin.EmptyFieldListFilter))
    search_fields = ("stripe_id", "type", "error")
    readonly_fields = [field.name for field in StripeEvent._meta.fields]


# dj-stripe's tables (Stripe customers, subscriptions, invoices, events, webhook deliveries) span clinics: only
# superusers see them, as clinics/admin.py does for the other packages' tables.
for _model, _model_admin in list(admin.site._registry.items()):
    if _model._meta.app_label == "djstripe":
        admin.site.unregister(_model)
        admin.site.register(_model, superuser_only(type(_model_admin)))
