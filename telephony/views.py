"""Console pages of telephony."""
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from clinics import audit
from clinics.views import console_page

from . import selectors
from .models import Call


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
    status = request.GET.get("status") if request.GET.get("status") in Call.Status.values else None
    rows = selectors.calls_for(clinic, status=status).order_by("-created_at", "-id")
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
