"""The console's patient record: search as you type (name prefix or phone, through the blind indexes), and one
patient's timeline of appointments, calls, messages, notes, triage answers and consents.

The timeline is assembled by `clinics.extensions.patient_timeline`: each app registers what it holds about a
patient in its `AppConfig.ready()` (scheduling below: appointments and consents; telephony: calls and messages;
notes: consultation notes; campaigns: triage answers and feedback), so scheduling imports none of them.
Reading a record or a search result writes the PII audit row; viewers see masked values and no write actions.
"""
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics import extensions
from clinics.errors import DomainError, InvalidInput
from clinics.extensions import TimelineEntry
from clinics.models import AuditEvent, Membership
from clinics.views import console_page

from . import patients, services
from .models import Appointment, Patient

SEARCH_LIMIT = 20
TIMELINE_LIMIT = 100


# --- Scheduling's own timeline providers (registered in apps.py).


def appointment_events(patient, *, full: bool) -> list[TimelineEntry]:
    """The patient's appointments, newest first (at most TIMELINE_LIMIT); their notes only when `full`."""
    rows = (Appointment.objects.for_clinic(patient.clinic_id).filter(patient=patient)
            .select_related("service", "professional").order_by("-starts_at")[:TIMELINE_LIMIT])
    return [TimelineEntry(
        at=row.starts_at, kind="appointment",
        title=_("%(service)s with %(professional)s (%(status)s)") % {
            "service": row.service.name, "professional": row.professional.name, "status": row.get_status_display()},
        detail=row.notes if full else "",
        url=reverse("scheduling:appointment_edit", args=[row.pk])) for row in rows]


def consent_events(patient, *, full: bool) -> list[TimelineEntry]:
    """Each consent given or withdrawn, from the append-only audit log (`services.patient_consent_record`)."""
    rows = (AuditEvent.objects.for_clinic(patient.clinic_id)
            .filter(action="patient.consent", object_type="patient", object_id=str(patient.pk))
            .order_by("-created_at")[:TIMELINE_LIMIT])
    labels = dict(_consent_labels())
    return [TimelineEntry(
        at=row.created_at, kind="consent", title=_consent_title(row.extra) % {
            "kind": labels.get(row.extra.get("kind"), row.extra.get("kind"))},
        detail=row.actor_label if full else "") for row in rows]


def _consent_title(extra: dict) -> str:
    if extra.get("pending"):
        return _("Consent asked on the booking page, awaiting the patient's confirmation: %(kind)s")
    if extra.get("declined"):
        return _("Consent declined by the patient: %(kind)s")
    return _("Consent given: %(kind)s") if extra.get("granted") else _("Consent withdrawn: %(kind)s")


def _consent_labels():
    return [("sms", _("SMS reminders")), ("marketing", _("Marketing messages"))]


# --- Pages.


def _row(patient, full):
    return {"id": str(patient.pk), "url": reverse("scheduling:patient_record", args=[patient.pk]),
            "name": patient.name if full else patients.mask_name(patient.name),
            "phone": patient.phone if full else patients.mask_phone(patient.phone)}


def _search(request):
    query = (request.GET.get("q") or "").strip()[:100]
    if len(query) < 2:
        return query, []
    full = patients.can_read_pii(request.auth)
    found = list(patients.patients_for(request.clinic, query).order_by("-created_at", "-id")[:SEARCH_LIMIT])
    if found:
        patients._audit(request, "patient.list", None, _("console patient search"), clinic=request.clinic,
                        hashes=[patient.hash for patient in found], masked=not full, search=True)
    return query, [_row(patient, full) for patient in found]


@console_page
def patient_index(request):
    """The search page: results as the user types (`patient_search`), or on submit without JavaScript."""
    query, rows = _search(request)
    return render(request, "scheduling/patient_record_search.html", {"query": query, "rows": rows})


@console_page
def patient_search(request):
    """JSON for search as you type: `{"patients": [{"id", "url", "name", "phone"}]}`, masked for viewers."""
    _query, rows = _search(request)
    return JsonResponse({"patients": rows})


@console_page
def patient_record(request, patient_id):
    """One patient: details, consents and the timeline of every app; actions for staff (book, consent) and
    admins (export, erase), each behind a confirmation."""
    patient = get_object_or_404(Patient.objects.for_clinic(request.clinic), pk=patient_id)
    full = patients.can_read_pii(request.auth)
    patients._audit(request, "patient.read", patient, _("console patient record"), masked=not full)
    consents = patient.consents or {}
    return render(request, "scheduling/patient_record.html", {
        "patient": patient, "full": full,
        "name": patient.name if full else patients.mask_name(patient.name),
        "phone": patient.phone if full else patients.mask_phone(patient.phone),
        "email": patient.email if full else patients.mask_email(patient.email),
        "erased": patients.ERASED_TAG in (patient.tags or []),
        "consents": [{"kind": kind, "label": label, "granted": consents.get(kind),
                      "pending": services.pending_consent_key(kind) in consents}
                     for kind, label in _consent_labels()],
        "timeline": extensions.patient_timeline(patient, full=full),
        "can_write": request.auth.can("write"),
        "is_admin": request.membership.role == Membership.Role.ADMIN,
    })


@require_POST
@console_page(write=True)
def patient_consent(request, patient_id):
    """Record a consent given or withdrawn (the form's confirmation button), through the service."""
    patient = get_object_or_404(Patient.objects.for_clinic(request.clinic), pk=patient_id)
    granted = request.POST.get("granted")
    if granted not in ("1", "0"):
        return render(request, "errors/400.html", {"status": 400, "message": _("Say whether consent is given.")},
                      status=400)
    try:
        services.patient_consent_record(patient=patient, kind=request.POST.get("kind", ""), granted=granted == "1",
                                        actor=request)
    except DomainError as error:
        if isinstance(error, InvalidInput):
            return render(request, "errors/400.html", {"status": 400, "message": error.message}, status=400)
        messages.error(request, error.message)
    else:
        messages.success(request, _("Consent recorded."))
    return redirect("scheduling:patient_record", patient_id=patient.pk)
