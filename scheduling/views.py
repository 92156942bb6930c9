"""Console pages of scheduling: the agenda (day and week, in the clinic's zone), appointments, professionals,
services and working hours. They call the same services as the API; a refused use case (a `DomainError`) is
shown as a form error or a message."""
import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.errors import DomainError, NotFound
from clinics.views import console_page

from . import patients, selectors, services
from .filters import AppointmentFilter, ProfessionalFilter, ServiceFilter
from .forms import AppointmentCreateForm, AppointmentEditForm, ExceptionForm, ProfessionalForm, ServiceForm
from .models import Appointment, AvailabilityException, Professional, Service


@console_page
def agenda(request):
    """Day or week of appointments per professional; times in the clinic's zone."""
    clinic = request.clinic
    zone = selectors.clinic_zone(clinic)
    today = timezone.now().astimezone(zone).date()
    try:
        day = parse_date(request.GET.get("date") or "") or today
    except ValueError:
        day = today
    mode = "week" if request.GET.get("view") == "week" else "day"
    first = day - dt.timedelta(days=day.weekday()) if mode == "week" else day
    length = 7 if mode == "week" else 1
    days = [first + dt.timedelta(days=offset) for offset in range(length)]
    professionals = list(Professional.objects.for_clinic(clinic).filter(active=True))
    chosen = request.GET.get("professional") or ""
    shown = [p for p in professionals if str(p.pk) == chosen] or professionals
    window = {"from": selectors.local_midnight(days[0], zone).isoformat(),
              "to": selectors.local_midnight(days[-1] + dt.timedelta(days=1), zone).isoformat()}
    appointments = _filtered(AppointmentFilter, request, Appointment.objects.for_clinic(clinic), data=window).filter(
        professional__in=shown).select_related("patient", "service", "professional").order_by("starts_at")
    cells = {(d, p.pk): [] for d in days for p in shown}
    for appointment in appointments:
        appointment.local_start = appointment.starts_at.astimezone(zone)
        appointment.local_end = appointment.ends_at.astimezone(zone)
        cells.setdefault((appointment.local_start.date(), appointment.professional_id), []).append(appointment)
    rows = [{"day": d, "cells": [{"professional": p, "appointments": cells[(d, p.pk)]} for p in shown]}
            for d in days]
    step = dt.timedelta(days=length)
    return render(request, "scheduling/console/agenda.html", {
        "mode": mode, "day": day, "rows": rows, "professionals": professionals, "shown": shown, "chosen": chosen,
        "previous": first - step, "next": first + step, "today": today, "timezone": clinic.timezone,
        "can_write": request.auth.can("write"),
    })


def _filtered(filterset_class, request, queryset, data=None):
    """The console list narrowed by the same FilterSet as the API (from the query string, or `data`);
    unreadable filters are ignored."""
    filterset = filterset_class(request.GET if data is None else data, queryset=queryset, request=request)
    try:
        return filterset.qs if filterset.is_valid() else queryset
    except DjangoValidationError:
        return queryset


def _agenda_url(appointment, clinic):
    local = appointment.starts_at.astimezone(selectors.clinic_zone(clinic)).date()
    return f"{reverse('scheduling:agenda')}?date={local.isoformat()}"


@console_page(write=True)
def appointment_new(request):
    """Book from the console: staff pick one of the patients with the phone typed, or book a new patient."""
    if not request.auth.can("write"):
        raise PermissionDenied
    clinic = request.clinic
    initial = {"date": request.GET.get("date"), "professional": request.GET.get("professional")}
    form = AppointmentCreateForm(request.POST or None, clinic=clinic, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            appointment = services.appointment_book(
                clinic=clinic, professional=data["professional"], service=data["service"],
                starts_at=form.starts_at, patient=data["patient"], patient_name=data["patient_name"],
                patient_phone=data["patient_phone"], patient_email=data["patient_email"],
                source=Appointment.Source.STAFF, notes=data["notes"], actor=request)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Appointment booked."))
            return redirect(_agenda_url(appointment, clinic))
    return render(request, "scheduling/console/appointment_form.html", {"form": form, "appointment": None},
                  status=400 if form.errors else 200)


@console_page(write=True)
def patient_matches(request):
    """JSON for the new-appointment form: the clinic's patients with the phone being typed (id and name)."""
    if not request.auth.can("write"):
        raise PermissionDenied
    phone = (request.GET.get("phone") or "")[:40]
    found = patients.patients_with_phone(clinic=request.clinic, phone=phone) if len(phone) >= 6 else []
    if found:
        patients._audit(request, "patient.list", None, _("console booking form"),
                        clinic=request.clinic, hashes=[patient.hash for patient in found], masked=False)
    return JsonResponse({"patients": [{"id": str(patient.pk), "name": patient.name} for patient in found]})


@console_page(write=True)
def appointment_edit(request, appointment_id):
    clinic = request.clinic
    appointment = get_object_or_404(
        Appointment.objects.for_clinic(clinic).select_related("patient", "service", "professional"),
        pk=appointment_id)
    local = appointment.starts_at.astimezone(selectors.clinic_zone(clinic))
    initial = {"professional": appointment.professional_id, "date": local.date(), "time": local.time(),
               "status": appointment.status, "notes": appointment.notes}
    form = AppointmentEditForm(request.POST or None, clinic=clinic, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            appointment = services.appointment_update(
                appointment=appointment, starts_at=form.starts_at, professional=data["professional"],
                notes=data["notes"], status=data["status"], source=Appointment.Source.STAFF, actor=request)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Appointment saved."))
            return redirect(_agenda_url(appointment, clinic))
    return render(request, "scheduling/console/appointment_form.html", {"form": form, "appointment": appointment},
                  status=400 if form.errors else 200)


@require_POST
@console_page(write=True)
def appointment_cancel(request, appointment_id):
    clinic = request.clinic
    appointment = get_object_or_404(Appointment.objects.for_clinic(clinic), pk=appointment_id)
    try:
        services.appointment_cancel(appointment=appointment, actor=request)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Appointment cancelled."))
    return redirect(_agenda_url(appointment, clinic))


@console_page
def professional_list(request):
    queryset = Professional.objects.for_clinic(request.clinic).prefetch_related("services", "working_hours")
    professionals = list(_filtered(ProfessionalFilter, request, queryset))
    for professional in professionals:
        professional.week = selectors.weekly_schedule(professional.working_hours.all())
    return render(request, "scheduling/console/professionals.html", {
        "professionals": professionals, "can_write": request.auth.can("write")})


@console_page(write=True)
def professional_form(request, professional_id=None):
    clinic = request.clinic
    professional = (get_object_or_404(Professional.objects.for_clinic(clinic), pk=professional_id)
                    if professional_id else None)
    form = ProfessionalForm(request.POST or None, instance=professional, clinic=clinic)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {key: data[key] for key in services.PROFESSIONAL_FIELDS if key in data}
        service_ids = [service.pk for service in data["services"]]
        try:
            if professional is None:
                services.professional_create(clinic=clinic, service_ids=service_ids,
                                             working_hours=data["working_hours"], actor=request, **fields)
            else:
                professional.refresh_from_db()
                services.professional_update(professional=professional, service_ids=service_ids,
                                             working_hours=data["working_hours"], actor=request, **fields)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Professional saved."))
            return redirect("scheduling:professionals")
    return render(request, "scheduling/console/professional_form.html", {"form": form, "professional": professional},
                  status=400 if form.errors else 200)


@require_POST
@console_page(write=True)
def professional_remove(request, professional_id):
    professional = get_object_or_404(Professional.objects.for_clinic(request.clinic), pk=professional_id)
    try:
        outcome = services.professional_remove(professional=professional, actor=request)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Professional archived.") if outcome == "archived" else _("Professional deleted."))
    return redirect("scheduling:professionals")


@console_page
def service_list(request):
    services_list = _filtered(ServiceFilter, request, Service.objects.for_clinic(request.clinic))
    return render(request, "scheduling/console/services.html", {
        "services": services_list, "can_write": request.auth.can("write")})


@console_page(write=True)
def service_form(request, service_id=None):
    clinic = request.clinic
    service = get_object_or_404(Service.objects.for_clinic(clinic), pk=service_id) if service_id else None
    form = ServiceForm(request.POST or None, instance=service)
    if request.method == "POST" and form.is_valid():
        fields = {key: form.cleaned_data[key] for key in services.SERVICE_FIELDS}
        try:
            if service is None:
                services.service_create(clinic=clinic, actor=request, **fields)
            else:
                service.refresh_from_db()
                services.service_update(service=service, actor=request, **fields)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Service saved."))
            return redirect("scheduling:services")
    return render(request, "scheduling/console/service_form.html", {"form": form, "service": service},
                  status=400 if form.errors else 200)


@require_POST
@console_page(write=True)
def service_remove(request, service_id):
    service = get_object_or_404(Service.objects.for_clinic(request.clinic), pk=service_id)
    try:
        outcome = services.service_remove(service=service, actor=request)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Service archived.") if outcome == "archived" else _("Service deleted."))
    return redirect("scheduling:services")


@console_page(write=True)
def exception_list(request):
    """Upcoming time off, extra hours and closures, and a form to add one."""
    clinic = request.clinic
    form = ExceptionForm(request.POST or None, clinic=clinic)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.availability_exception_create(
                clinic=clinic, kind=data["kind"], starts_at=data["starts"], ends_at=data["ends"],
                professional=data["professional"], reason=data["reason"], actor=request)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("scheduling:exceptions")
    zone = selectors.clinic_zone(clinic)
    exceptions = list(AvailabilityException.objects.for_clinic(clinic).filter(ends_at__gt=timezone.now())
                      .select_related("professional").order_by("starts_at"))
    for exception in exceptions:
        exception.local_start = exception.starts_at.astimezone(zone)
        exception.local_end = exception.ends_at.astimezone(zone)
    return render(request, "scheduling/console/exceptions.html", {
        "form": form, "exceptions": exceptions, "can_write": request.auth.can("write"),
        "timezone": clinic.timezone}, status=400 if form.errors else 200)


@require_POST
@console_page(write=True)
def exception_remove(request, exception_id):
    try:
        services.availability_exception_remove(clinic=request.clinic, exception=exception_id, actor=request)
    except NotFound:
        raise Http404
    messages.success(request, _("Removed."))
    return redirect("scheduling:exceptions")
