"""Console pages of billing: the plan, this period's usage, invoices, and the buttons to subscribe, change plan,
cancel or open the Customer Portal. Admins only; each button calls the same service as the API.

`/billing/checkout/<session>` is the offline (`local` backend) stand-in for Stripe Checkout.
"""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.views import console_page
from config.surfaces.errors import ApiError

from . import selectors, services
from .api.views import console_url
from .backends.payments import PAYMENTS, LocalPaymentsBackend
from .plans import PLANS, paid_plans

ADMIN = ("admin",)


def _clinic(request):
    return request.membership.clinic


def _paid_plan(request):
    plan = PLANS.get(request.POST.get("plan", ""))
    if plan is None or not plan.is_paid:
        messages.error(request, _("Choose a paid plan."))
        return None
    return plan


@console_page(roles=ADMIN)
def index(request):
    """The clinic's plan, usage and invoices (newest first)."""
    clinic = _clinic(request)
    subscription = selectors.subscription_of(clinic)
    outcome = request.GET.get("checkout")
    if outcome == "success":
        messages.success(request, _("Payment received. Your plan is updated as soon as Stripe confirms it."))
    elif outcome == "cancelled":
        messages.info(request, _("Checkout cancelled; nothing was charged."))
    return render(request, "billing/index.html", {
        "subscription": subscription, "plan": selectors.plan_of(subscription),
        "usage": selectors.usage_of(clinic), "plans": paid_plans(),
        "invoices": selectors.invoices_for(clinic).order_by("-created_at", "-id")[:24],
        "paying": bool(subscription.stripe_subscription_id) and subscription.status not in services.ENDED,
    })


def _act(request, action):
    try:
        return action()
    except ApiError as exc:
        messages.error(request, str(exc.detail))
        return redirect("billing:index")


@console_page(roles=ADMIN)
@require_POST
def upgrade(request):
    plan = _paid_plan(request)
    if plan is None:
        return redirect("billing:index")

    def start():
        session = services.start_checkout(request, _clinic(request), plan, console_url("?checkout=success"),
                                          console_url("?checkout=cancelled"), email=request.user.email)
        return redirect(session.url)

    return _act(request, start)


@console_page(roles=ADMIN)
@require_POST
def change_plan(request):
    plan = _paid_plan(request)
    if plan is None:
        return redirect("billing:index")

    def change():
        services.change_plan(request, _clinic(request), plan)
        messages.success(request, _("Plan change scheduled."))
        return redirect("billing:index")

    return _act(request, change)


@console_page(roles=ADMIN)
@require_POST
def cancel(request):
    def cancel_now():
        services.cancel_subscription(request, _clinic(request))
        messages.success(request, _("Your subscription will end with the current period."))
        return redirect("billing:index")

    return _act(request, cancel_now)


@console_page(roles=ADMIN)
@require_POST
def portal(request):
    return _act(request, lambda: redirect(services.open_portal(request, _clinic(request), console_url())))


@console_page(roles=ADMIN)
def local_checkout(request, session):
    """The offline Checkout: shows what is bought; paying sends Stripe's events through the webhook processing."""
    backend = PAYMENTS.backend()
    checkout = LocalPaymentsBackend.open_session(session)
    if not isinstance(backend, LocalPaymentsBackend) or checkout is None or checkout["clinic"] != str(
            _clinic(request).pk):
        raise Http404
    plan = PLANS[checkout["plan"]]
    if request.method == "POST":
        if request.POST.get("action") == "pay":
            backend.complete_checkout(checkout)
            return redirect(checkout["success"])
        return redirect(checkout["cancel"])
    return render(request, "billing/checkout.html", {"plan": plan, "checkout": checkout})
