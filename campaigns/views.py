"""Console pages of engagement: patients (search, page, export, erasure), tasks, triage questions, NPS.

Each page calls the same services and selectors as the API; personal data shown here is audited like an API read.
"""
import datetime as dt
import json
import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.errors import DomainError
from clinics.models import Membership
from clinics.views import console_page
from scheduling import patients
from scheduling.models import Patient, Service
from telephony.selectors import messages_of_patient

from . import selectors, services
from .forms import TaskForm
from .models import FeedbackResponse, Task, TriageQuestionnaire, TriageResponse

ADMIN = [Membership.Role.ADMIN]
STAFF = [Membership.Role.ADMIN, Membership.Role.EDITOR]


def _patient_or_404(request, patient_hash) -> Patient:
    patient = Patient.objects.for_clinic(request.clinic).filter(hash=patient_hash[:32]).first()
    if patient is None:
        raise Http404
    return patient


@console_page
def index(request):
    """Engagement at a glance: NPS of the last 30 days, per professional, and the open tasks."""
    clinic = request.clinic
    end = timezone.now()
    start = end - dt.timedelta(days=30)
    return render(request, "campaigns/index.html", {
        "nps": selectors.nps(clinic, start, end), "by_professional": selectors.nps_by_professional(clinic, start, end),
        "open_tasks": selectors.tasks_for(clinic, status=Task.Status.OPEN).count(),
    })


@console_page
def patient_list(request):
    """Search by name words or phone (blind indexes); viewers see masked data.

    The term travels in a POST body, never in the URL (address bar, history, Referer, access logs): the search
    form and its page buttons post to this same address, and a term sent in the query string (an old bookmark) is
    dropped by a redirect to the bare list. A search reads, so a viewer may post it."""
    if "q" in request.GET:
        return redirect("campaigns:patients")
    clinic = request.clinic
    data = request.POST if request.method == "POST" else request.GET
    query = data.get("q", "").strip()[:200]
    page = Paginator(patients.patients_for(clinic, query).order_by("-created_at", "-id"), 50).get_page(
        data.get("page"))
    full = patients.can_read_pii(request.auth)
    rows = [_patient_row(patient, full) for patient in page]
    if rows:
        patients._audit(request, "patient.list", None, _("console patient search"),
                        hashes=[row["hash"] for row in rows], masked=not full, search=bool(query))
    return render(request, "campaigns/patients.html", {"page": page, "rows": rows, "query": query})


def _patient_row(patient, full):
    if full:
        return {"hash": patient.hash, "name": patient.name, "phone": patient.phone, "email": patient.email,
                "erased": patients.ERASED_TAG in (patient.tags or [])}
    return {"hash": patient.hash, "name": patients.mask_name(patient.name), "phone": patients.mask_phone(patient.phone),
            "email": patients.mask_email(patient.email), "erased": patients.ERASED_TAG in (patient.tags or [])}


@console_page
def patient_detail(request, patient_hash):
    """Everything about one patient: appointments, messages, triage answers, feedback, tasks."""
    patient = _patient_or_404(request, patient_hash)
    full = patients.can_read_pii(request.auth)
    patients._audit(request, "patient.read", patient, _("console patient page"), masked=not full)
    appointments = list(patient.appointments.select_related("professional", "service").order_by("-starts_at"))
    context = {
        "patient": patient, "row": _patient_row(patient, full), "full": full, "appointments": appointments,
        "triage": TriageResponse.objects.for_clinic(request.clinic).filter(appointment__patient=patient)
        .select_related("appointment"),
        "feedback": FeedbackResponse.objects.for_clinic(request.clinic).filter(appointment__patient=patient)
        .select_related("appointment"),
        "tasks": Task.objects.for_clinic(request.clinic).filter(patient=patient),
        "messages_sent": messages_of_patient(patient) if full else [],
        "is_admin": request.membership.role == Membership.Role.ADMIN,
    }
    return render(request, "campaigns/patient.html", context)


@console_page(roles=ADMIN)
def patient_export(request, patient_hash):
    """Download the RGPD export of one patient as a JSON file (admins only; audited)."""
    patient = _patient_or_404(request, patient_hash)
    data = patients.export_patient(patient, source=request)
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="patient-{patient.hash}.json"'
    return response


@require_POST
@console_page(roles=ADMIN, write=True)
def patient_erase(request, patient_hash):
    """Erase one patient after the admin typed the confirmation word (audited)."""
    patient = _patient_or_404(request, patient_hash)
    if request.POST.get("confirm", "").strip().upper() != "ERASE":
        messages.error(request, _("Type ERASE to confirm the erasure."))
        return redirect("campaigns:patient", patient_hash=patient.hash)
    patients.erase_patient(patient, source=request)
    messages.success(request, _("The patient's personal data was erased."))
    return redirect("campaigns:patient", patient_hash=patient.hash)


@console_page(write=True)
def task_list(request):
    """Open tasks first (soonest due first); staff can add one and close it."""
    clinic = request.clinic
    status = request.GET.get("status") if request.GET.get("status") in Task.Status.values else Task.Status.OPEN
    error = ""
    if request.method == "POST":
        form = TaskForm(request.POST, clinic=clinic)
        if form.is_valid():
            try:
                services.task_create(clinic=clinic, actor=request, **form.task_fields())
            except DomainError as exc:
                error = exc.message
            else:
                messages.success(request, _("Task added."))
                return redirect("campaigns:tasks")
        else:
            error = " ".join(str(message) for messages_ in form.errors.values() for message in messages_)
    rows = list(selectors.tasks_for(clinic, status=status).select_related("assignee__user", "patient")
                .order_by("due_at", "created_at"))
    if request.method == "GET":
        services.task_list_record(clinic=clinic, tasks=rows, actor=request, purpose=_("console task list"))
    return render(request, "campaigns/tasks.html", {
        "tasks": rows, "status": status, "statuses": Task.Status.choices, "error": error, "form": request.POST,
        "members": clinic.memberships.select_related("user").order_by("user__email"),
        "can_edit": request.membership.role in STAFF,
    }, status=400 if error else 200)


@require_POST
@console_page(roles=STAFF, write=True)
def task_status(request, task_id):
    task = Task.objects.for_clinic(request.clinic).filter(pk=task_id).first()
    status = request.POST.get("status")
    if task is None or status not in Task.Status.values:
        raise Http404
    services.task_status_set(clinic=request.clinic, task=task, status=status, actor=request)
    return redirect("campaigns:tasks")


EXTRA_ROWS = 3


def _is_uuid(value):
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@console_page(roles=STAFF, write=True)
def triage_questions(request):
    """Edit the triage questions of the clinic (default) or of one service."""
    clinic = request.clinic
    services_list = Service.objects.for_clinic(clinic).order_by("name")
    service_id = request.GET.get("service") or request.POST.get("service") or ""
    service = services_list.filter(pk=service_id).first() if _is_uuid(service_id) else None
    error = ""
    if request.method == "POST":
        questions = _questions_from_form(request.POST)
        try:
            services.questionnaire_save(clinic=clinic, service=service, questions=questions, actor=request)
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, _("Triage questions saved."))
            target = f"?service={service.id}" if service else ""
            return redirect(request.path + target)
        current = questions
    else:
        row = TriageQuestionnaire.objects.for_clinic(clinic).filter(service=service).first()
        current = row.questions if row and row.questions else (
            selectors.default_questions() if service is None else [])
    rows = [{**q, "choices_text": ", ".join(q.get("choices") or [])} for q in current]
    rows += [{"id": "", "label": "", "type": "text", "choices_text": "", "required": False}] * EXTRA_ROWS
    return render(request, "campaigns/triage_questions.html", {
        "services": services_list, "service": service, "rows": rows, "error": error,
        "types": TriageQuestionnaire.QuestionType.choices,
    }, status=400 if error else 200)


def _questions_from_form(data) -> list[dict]:
    questions = []
    index = 0
    while f"q-{index}-label" in data and index < selectors.MAX_QUESTIONS + EXTRA_ROWS:
        label = data.get(f"q-{index}-label", "").strip()
        if label:
            questions.append({
                "id": data.get(f"q-{index}-id", "").strip()[:40], "label": label[:300],
                "type": data.get(f"q-{index}-type", "text"),
                "choices": [c.strip() for c in data.get(f"q-{index}-choices", "").split(",") if c.strip()],
                "required": data.get(f"q-{index}-required") == "on",
            })
        index += 1
    return questions
