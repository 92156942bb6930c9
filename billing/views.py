"""Console pages of billing: the plan, this period's usage, invoices, and the buttons to subscribe, change plan,
cancel or open the Customer Portal. Admins only; each button calls the same service as the API.

`/billing/checkout/<session>` is the offline (`local` backend) stand-in for Stripe Checkout.
"""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.errors import DomainError
from clinics.views import console_page

from . import selectors, services
from .backends.payments import PAYMENTS, LocalPaymentsBackend
from .plans import PLANS, paid_plans
from .return_urls import console_url

ADMIN = ("admin",)


@console_page(roles=ADMIN)
def index(request):
    """The clinic's plan, usage and invoices (newest first)."""
    clinic = request.clinic
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
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("billing:index")


def _chosen_plan(request) -> str:
    return request.POST.get("plan", "")[:40]


@console_page(roles=ADMIN, write=True)
@require_POST
def upgrade(request):
    def start():
        session = services.checkout_start(clinic=request.clinic, actor=request, plan_name=_chosen_plan(request),
                                          success_url=console_url("?checkout=success"),
                                          cancel_url=console_url("?checkout=cancelled"), email=request.user.email)
        return redirect(session.url)

    return _act(request, start)


@console_page(roles=ADMIN, write=True)
@require_POST
def change_plan(request):
    def change():
        subscription = services.subscription_change_plan(clinic=request.clinic, actor=request,
                                                         plan_name=_chosen_plan(request))
        messages.success(request, _("Plan change scheduled.") if subscription.scheduled_plan
                         else _("Scheduled plan change cancelled."))
        return redirect("billing:index")

    return _act(request, change)


@console_page(roles=ADMIN, write=True)
@require_POST
def cancel(request):
    def cancel_now():
        services.subscription_cancel(clinic=request.clinic, actor=request)
        messages.success(request, _("Your subscription will end with the current period."))
        return redirect("billing:index")

    return _act(request, cancel_now)


@console_page(roles=ADMIN, write=True)
@require_POST
def portal(request):
    return _act(request, lambda: redirect(services.portal_open(clinic=request.clinic, actor=request,
                                                               return_url=console_url())))


@console_page(roles=ADMIN, write=True)
def local_checkout(request, session):
    """The offline Checkout: shows what is bought; paying sends Stripe's events through the webhook processing."""
    backend = PAYMENTS.backend()
    checkout = LocalPaymentsBackend.open_session(session)
    if not isinstance(backend, LocalPaymentsBackend) or checkout is None or checkout["clinic"] != str(
            request.clinic.pk):
        raise Http404
    plan = PLANS[checkout["plan"]]
    if request.method == "POST":
        if request.POST.get("action") == "pay":
            try:
                services.checkout_pay_offline(checkout=checkout)
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect("billing:index")
            return redirect(checkout["success"])
        return redirect(checkout["cancel"])
    return render(request, "billing/checkout.html", {"plan": plan, "checkout": checkout})
