"""Console pages of telephony."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics import audit
from clinics.errors import Conflict, DomainError, NotFound
from clinics.models import Membership
from clinics.views import console_page

from . import numbers, selectors
from .filters import CallFilterSet
from .forms import MessagingNumberForm, VerificationCodeForm
from .models import Call, MessagingNumber


@console_page
def outbox(request):
    """The active clinic's text messages, newest first, decrypted for the member who reads them (audited)."""
    clinic = request.clinic
    page = Paginator(selectors.messages_for(clinic), 50).get_page(request.GET.get("page"))
    audit.record(request, "message.list_read", "message", purpose="console outbox",
                 ids=[str(message.pk) for message in page.object_list])
    return render(request, "telephony/outbox.html", {"page": page, "clinic": clinic})


@console_page
def calls(request):
    """The active clinic's calls, newest first, optionally narrowed to one status."""
    clinic = request.clinic
    filters = CallFilterSet(request.GET, queryset=selectors.calls_for(clinic))
    valid = filters.is_valid()  # the console ignores a status it does not know, as its links never send one
    status = filters.form.cleaned_data.get("status") or None if valid else None
    rows = (filters.qs if valid else selectors.calls_for(clinic)).order_by("-created_at", "-id")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    audit.record(request, "call.list_read", "call", purpose="console calls",
                 ids=[str(call.pk) for call in page.object_list])
    return render(request, "telephony/calls.html", {"page": page, "clinic": clinic, "status": status,
                                                    "statuses": Call.Status.choices})


@console_page
def call_detail(request, pk):
    """One call of the active clinic with its summary and transcript (audited); another clinic's call is 404."""
    clinic = request.clinic
    call = get_object_or_404(Call.objects.for_clinic(clinic), pk=pk)
    audit.record(request, "call.read", "call", call.pk, purpose="console call detail")
    return render(request, "telephony/call_detail.html", {"call": call, "clinic": clinic})


# --- Messaging numbers: the numbers inbound SMS/WhatsApp are routed by (telephony/numbers.py), admins only.


def _numbers_page(request, *, form=None, status=200):
    return render(request, "telephony/messaging_numbers.html", {
        "numbers": MessagingNumber.objects.for_clinic(request.clinic).order_by("created_at"),
        "form": form or MessagingNumberForm(), "code_form": VerificationCodeForm(),
        "verified": MessagingNumber.Status.VERIFIED, "clinic": request.clinic,
    }, status=status)


@console_page(roles=[Membership.Role.ADMIN], write=True)
def messaging_numbers(request):
    """The clinic's messaging numbers; POST adds one (verified at once when the provider account holds it, else a
    code is sent to it) or, for a pending number, sends a new code."""
    if request.method != "POST":
        return _numbers_page(request)
    form = MessagingNumberForm(request.POST)
    if not form.is_valid():
        return _numbers_page(request, form=form, status=400)
    try:
        number = numbers.messaging_number_add(clinic=request.clinic, phone=form.cleaned_data["phone"], actor=request)
    except DomainError as error:
        for problem in (error.details or {}).get("phone") or [error.message]:
            form.add_error("phone", problem)
        return _numbers_page(request, form=form, status=409 if isinstance(error, Conflict) else 400)
    if number.status == MessagingNumber.Status.VERIFIED:
        messages.success(request, _("%(phone)s is verified: replies to it reach this clinic.") % {"phone": number.phone})
    else:
        messages.success(request, _("A code was sent to %(phone)s. Type it below to verify the number.")
                         % {"phone": number.phone})
    return redirect("telephony:messaging_numbers")


@require_POST
@console_page(roles=[Membership.Role.ADMIN], write=True)
def messaging_number_verify(request, number_id):
    """Check the code sent to one of the clinic's numbers; another clinic's number is 404."""
    form = VerificationCodeForm(request.POST)
    if not MessagingNumber.objects.for_clinic(request.clinic).filter(pk=number_id).exists():
        raise Http404
    if not form.is_valid():
        messages.error(request, form.errors["code"][0])
        return redirect("telephony:messaging_numbers")
    try:
        number = numbers.messaging_number_verify(clinic=request.clinic, number_id=number_id,
                                                 code=form.cleaned_data["code"], actor=request)
    except NotFound:
        raise Http404
    except DomainError as error:
        messages.error(request, ((error.details or {}).get("code") or [error.message])[0])
    else:
        messages.success(request, _("%(phone)s is verified: replies to it reach this clinic.") % {"phone": number.phone})
    return redirect("telephony:messaging_numbers")
