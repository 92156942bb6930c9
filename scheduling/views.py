"""Console pages of scheduling: the agenda (day and week, in the clinic's zone), appointments, professionals,
services and working hours. They call the same services as the API."""
import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.views import console_page
from config.surfaces.errors import ApiError

from . import selectors, services
from .forms import AppointmentCreateForm, AppointmentEditForm, ExceptionForm, ProfessionalForm, ServiceForm
from .models import Appointment, AvailabilityException, Professional, Service


def _require_write(request):
    if not request.auth.can("write"):
        raise PermissionDenied


def _clinic(request):
    return request.membership.clinic


@console_page
def agenda(request):
    """Day or week of appointments per professional; times in the clinic's zone."""
    clinic = _clinic(request)
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
    professionals = list(Professional.objects.filter(clinic=clinic, active=True))
    chosen = request.GET.get("professional") or ""
    shown = [p for p in professionals if str(p.pk) == chosen] or professionals
    appointments = selectors.appointments_for(
        clinic, starts_from=selectors.local_midnight(days[0], zone),
        starts_to=selectors.local_midnight(days[-1] + dt.timedelta(days=1), zone),
    ).filter(professional__in=shown).select_related("patient", "service", "professional").order_by("starts_at")
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


def _error_text(error: ApiError) -> str:
    return str(error.detail)


@console_page
def appointment_new(request):
    _require_write(request)
    clinic = _clinic(request)
    initial = {"date": request.GET.get("date"), "professional": request.GET.get("professional")}
    form = AppointmentCreateForm(request.POST or None, clinic=clinic, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            patient = services.find_or_create_patient(clinic, name=data["patient_name"], phone=data["patient_phone"],
                                                      email=data["patient_email"], actor=request)
            appointment = services.book(clinic=clinic, patient=patient, professional=data["professional"],
                                        service=data["service"], starts_at=form.starts_at,
                                        source=Appointment.Source.STAFF, notes=data["notes"], actor=request)
        except ApiError as error:
            form.add_error(None, _error_text(error))
        else:
            messages.success(request, _("Appointment booked."))
            return redirect(_agenda_url(appointment, clinic))
    return render(request, "scheduling/console/appointment_form.html", {"form": form, "appointment": None},
                  status=400 if form.errors else 200)


def _agenda_url(appointment, clinic):
    local = appointment.starts_at.astimezone(selectors.clinic_zone(clinic)).date()
    return f"{reverse('scheduling:agenda')}?date={local.isoformat()}"


@console_page
def appointment_edit(request, appointment_id):
    clinic = _clinic(request)
    appointment = get_object_or_404(Appointment.objects.select_related("patient", "service", "professional"),
                                    clinic=clinic, pk=appointment_id)
    local = appointment.starts_at.astimezone(selectors.clinic_zone(clinic))
    initial = {"professional": appointment.professional_id, "date": local.date(), "time": local.time(),
               "status": appointment.status, "notes": appointment.notes}
    form = AppointmentEditForm(request.POST or None, clinic=clinic, initial=initial)
    if request.method == "POST":
        _require_write(request)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if form.starts_at != appointment.starts_at or data["professional"] != appointment.professional:
                    services.reschedule(appointment, starts_at=form.starts_at, professional=data["professional"],
                                        source=Appointment.Source.STAFF, actor=request)
                services.update_notes(appointment, data["notes"], actor=request)
                services.set_status(appointment, data["status"], actor=request)
            except ApiError as error:
                form.add_error(None, _error_text(error))
            else:
                messages.success(request, _("Appointment saved."))
                return redirect(_agenda_url(appointment, clinic))
    return render(request, "scheduling/console/appointment_form.html", {"form": form, "appointment": appointment},
                  status=400 if form.errors else 200)


@require_POST
@console_page
def appointment_cancel(request, appointment_id):
    _require_write(request)
    clinic = _clinic(request)
    appointment = get_object_or_404(Appointment, clinic=clinic, pk=appointment_id)
    services.cancel(appointment, actor=request)
    messages.success(request, _("Appointment cancelled."))
    return redirect(_agenda_url(appointment, clinic))


@console_page
def professional_list(request):
    clinic = _clinic(request)
    professionals = Professional.objects.filter(clinic=clinic).prefetch_related("services", "working_hours")
    for professional in professionals:
        professional.week = selectors.weekly_schedule(professional.working_hours.all())
    return render(request, "scheduling/console/professionals.html", {
        "professionals": professionals, "can_write": request.auth.can("write")})


@console_page
def professional_form(request, professional_id=None):
    clinic = _clinic(request)
    professional = get_object_or_404(Professional, clinic=clinic, pk=professional_id) if professional_id else None
    form = ProfessionalForm(request.POST or None, instance=professional, clinic=clinic)
    if request.method == "POST":
        _require_write(request)
        if form.is_valid():
            data = form.cleaned_data
            fields = {key: data[key] for key in services.PROFESSIONAL_FIELDS if key in data}
            service_ids = [service.pk for service in data["services"]]
            try:
                if professional is None:
                    services.create_professional(clinic, service_ids=service_ids,
                                                 working_hours=data["working_hours"], actor=request, **fields)
                else:
                    professional.refresh_from_db()
                    services.update_professional(professional, service_ids=service_ids,
                                                 working_hours=data["working_hours"], actor=request, **fields)
            except ApiError as error:
                form.add_error(None, _error_text(error))
            else:
                messages.success(request, _("Professional saved."))
                return redirect("scheduling:professionals")
    return render(request, "scheduling/console/professional_form.html", {"form": form, "professional": professional},
                  status=400 if form.errors else 200)


@require_POST
@console_page
def professional_remove(request, professional_id):
    _require_write(request)
    professional = get_object_or_404(Professional, clinic=_clinic(request), pk=professional_id)
    try:
        outcome = services.remove_professional(professional, actor=request)
    except ApiError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("Professional archived.") if outcome == "archived" else _("Professional deleted."))
    return redirect("scheduling:professionals")


@console_page
def service_list(request):
    return render(request, "scheduling/console/services.html", {
        "services": Service.objects.filter(clinic=_clinic(request)), "can_write": request.auth.can("write")})


@console_page
def service_form(request, service_id=None):
    clinic = _clinic(request)
    service = get_object_or_404(Service, clinic=clinic, pk=service_id) if service_id else None
    form = ServiceForm(request.POST or None, instance=service)
    if request.method == "POST":
        _require_write(request)
        if form.is_valid():
            fields = {key: form.cleaned_data[key] for key in services.SERVICE_FIELDS}
            if service is None:
                services.create_service(clinic, actor=request, **fields)
            else:
                service.refresh_from_db()
                services.update_service(service, actor=request, **fields)
            messages.success(request, _("Service saved."))
            return redirect("scheduling:services")
    return render(request, "scheduling/console/service_form.html", {"form": form, "service": service},
                  status=400 if form.errors else 200)


@require_POST
@console_page
def service_remove(request, service_id):
    _require_write(request)
    service = get_object_or_404(Service, clinic=_clinic(request), pk=service_id)
    try:
        outcome = services.remove_service(service, actor=request)
    except ApiError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("Service archived.") if outcome == "archived" else _("Service deleted."))
    return redirect("scheduling:services")


@console_page
def exception_list(request):
    """Upcoming time off, extra hours and closures, and a form to add one."""
    clinic = _clinic(request)
    form = ExceptionForm(request.POST or None, clinic=clinic)
    if request.method == "POST":
        _require_write(request)
        if form.is_valid():
            data = form.cleaned_data
            services.add_exception(clinic, kind=data["kind"], starts_at=data["starts"], ends_at=data["ends"],
                                   professional=data["professional"], reason=data["reason"], actor=request)
            messages.success(request, _("Saved."))
            return redirect("scheduling:exceptions")
    zone = selectors.clinic_zone(clinic)
    exceptions = list(AvailabilityException.objects.filter(clinic=clinic, ends_at__gt=timezone.now())
                      .select_related("professional").order_by("starts_at"))
    for exception in exceptions:
        exception.local_start = exception.starts_at.astimezone(zone)
        exception.local_end = exception.ends_at.astimezone(zone)
    return render(request, "scheduling/console/exceptions.html", {
        "form": form, "exceptions": exceptions, "can_write": request.auth.can("write"),
        "timezone": clinic.timezone}, status=400 if form.errors else 200)


@require_POST
@console_page
def exception_remove(request, exception_id):
    _require_write(request)
    exception = get_object_or_404(AvailabilityException, clinic=_clinic(request), pk=exception_id)
    services.remove_exception(exception, actor=request)
    messages.success(request, _("Removed."))
    return redirect("scheduling:exceptions")
