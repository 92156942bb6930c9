"""Console pages of scheduling: the agenda (day and week, in the clinic's zone), appointments, professionals,
services and working hours. They call the same services as the API; a refused use case (a `DomainError`) is
shown as a form error or a message."""
import datetime as dt
import json
import uuid
from urllib.parse import urlencode

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

from clinics.audit import record
from clinics.errors import DomainError, NotFound
from clinics.views import console_page
from config.surfaces.errors import status_for

from . import patients, selectors, services
from .filters import AppointmentFilter, ProfessionalFilter, ServiceFilter
from .forms import (AppointmentCreateForm, AppointmentEditForm, AppointmentMoveForm, AppointmentResizeForm,
                    CancelForm, ExceptionForm, ProfessionalForm, ServiceForm)
from .models import Appointment, AvailabilityException, Professional, Service


AGENDA_STEPS = (10, 15, 20, 30, 60)  # grid rows that divide an hour; other slot steps fall back to 15 minutes
DEFAULT_HOURS = (8, 19)  # the grid shown when nobody works that day


# Light fills with a dark edge of the same hue, far enough apart to tell services apart at a glance.
SERVICE_PALETTE = (
    ("#dbeafe", "#1d4ed8"), ("#dcfce7", "#15803d"), ("#fef3c7", "#b45309"), ("#ede9fe", "#6d28d9"),
    ("#ffe4e6", "#be123c"), ("#ccfbf1", "#0f766e"), ("#ffedd5", "#c2410c"), ("#fae8ff", "#a21caf"),
    ("#ecfccb", "#4d7c0f"), ("#e0f2fe", "#0369a1"), ("#fef9c3", "#a16207"), ("#e2e8f0", "#334155"),
)


def service_colours(clinic) -> dict:
    """A colour per service of the clinic (services have none of their own): the palette in the order the
    services were created, so a service keeps its colour on every page and day. One query."""
    ids = Service.objects.for_clinic(clinic).order_by("created_at", "id").values_list("id", flat=True)
    return {pk: dict(zip(("fill", "edge"), SERVICE_PALETTE[index % len(SERVICE_PALETTE)]))
            for index, pk in enumerate(ids)}


def _lanes(items):
    """Side-by-side lanes for overlapping appointments of one column (a cancelled one beside its replacement,
    several professionals in a week column): each item gets `lane` and `lanes` (the width of its cluster)."""
    cluster, cluster_end, lane_ends = [], None, []
    for item in sorted(items, key=lambda item: (item["start"], item["end"])):
        if cluster and item["start"] >= cluster_end:
            for member in cluster:
                member["lanes"] = len(lane_ends)
            cluster, lane_ends = [], []
        lane = next((index for index, end in enumerate(lane_ends) if end <= item["start"]), len(lane_ends))
        if lane == len(lane_ends):
            lane_ends.append(item["end"])
        else:
            lane_ends[lane] = item["end"]
        item["lane"] = lane
        cluster.append(item)
        cluster_end = item["end"] if cluster_end is None or len(cluster) == 1 else max(cluster_end, item["end"])
    for member in cluster:
        member["lanes"] = len(lane_ends)
    return items


@console_page
def agenda(request):
    """Day (one column per professional) or week (one column per day) time grid, in the clinic's zone: working
    time white, the rest greyed, past times closed; a free time links to the new-appointment form prefilled, and
    appointments are moved by dragging them (`appointment_move`)."""
    clinic = request.clinic
    zone = selectors.clinic_zone(clinic)
    now = timezone.now()
    local_now = now.astimezone(zone)
    today = local_now.date()
    try:
        day = parse_date(request.GET.get("date") or "") or today
    except ValueError:
        day = today
    if not dt.date(1900, 1, 1) <= day <= dt.date(9000, 1, 1):
        day = today
    mode = "week" if request.GET.get("view") == "week" else "day"
    first = day - dt.timedelta(days=day.weekday()) if mode == "week" else day
    length = 7 if mode == "week" else 1
    days = [first + dt.timedelta(days=offset) for offset in range(length)]
    professionals = list(Professional.objects.for_clinic(clinic).filter(active=True).order_by("name"))
    chosen = request.GET.get("professional") or ""
    shown = [p for p in professionals if str(p.pk) == chosen] or professionals
    show_cancelled = request.GET.get("cancelled") == "1"
    window_start = selectors.local_midnight(days[0], zone)
    window_end = selectors.local_midnight(days[-1] + dt.timedelta(days=1), zone)
    window = {"from": window_start.isoformat(), "to": window_end.isoformat()}
    appointments = _filtered(AppointmentFilter, request, Appointment.objects.for_clinic(clinic), data=window).filter(
        professional__in=shown).select_related("patient", "service", "professional").order_by("starts_at")
    if not show_cancelled:
        appointments = appointments.exclude(status=Appointment.Status.CANCELLED)
    appointments = list(appointments)
    open_time = selectors.availability(clinic, [p.pk for p in shown], window_start, window_end) if shown else {}

    rules = selectors.booking_rules(clinic)
    step = rules["slot_step_minutes"] if rules["slot_step_minutes"] in AGENDA_STEPS else 15
    # The grid runs from the first hour anyone works (or has an appointment) to the last, whole hours.
    minutes = [(start.astimezone(zone), end.astimezone(zone)) for intervals in open_time.values()
               for start, end in intervals]
    minutes += [(a.starts_at.astimezone(zone), a.ends_at.astimezone(zone)) for a in appointments]
    first_minute, last_minute = DEFAULT_HOURS[0] * 60, DEFAULT_HOURS[1] * 60
    if minutes:
        first_minute = min(start.hour * 60 + start.minute if start.date() >= days[0] else 0 for start, _end in minutes)
        last_minute = max(end.hour * 60 + end.minute if end.date() <= days[-1] and (end.hour or end.minute)
                          else 24 * 60 for _start, end in minutes)
    first_minute = first_minute // 60 * 60
    last_minute = min(24 * 60, -(-last_minute // 60) * 60)
    if last_minute <= first_minute:
        first_minute, last_minute = DEFAULT_HOURS[0] * 60, DEFAULT_HOURS[1] * 60
    rows = (last_minute - first_minute) // step

    if mode == "day":
        columns = [{"day": day, "professionals": [p], "professional": p} for p in shown]
    else:
        columns = [{"day": d, "professionals": shown, "professional": shown[0] if len(shown) == 1 else None}
                   for d in days]
    can_write = request.auth.can("write")
    colours = service_colours(clinic)
    new_url = reverse("scheduling:appointment_new")
    for index, column in enumerate(columns):
        column["id"] = f"column-{index}"
        column["is_today"] = column["day"] == today
        midnight = selectors.local_midnight(column["day"], zone)
        next_midnight = selectors.local_midnight(column["day"] + dt.timedelta(days=1), zone)
        ids = [p.pk for p in column["professionals"]]
        intervals = selectors.merge([interval for pid in ids for interval in open_time.get(pid, [])])
        slots = []
        for row in range(rows):
            minute = first_minute + row * step
            starts = dt.datetime.combine(column["day"], dt.time(minute // 60, minute % 60), tzinfo=zone)
            ends = starts + dt.timedelta(minutes=step)
            working = any(start <= starts and ends <= end for start, end in intervals)
            slot = {"time": f"{minute // 60:02d}:{minute % 60:02d}", "row": row, "hour": minute % 60 == 0,
                    "state": "past" if starts < now else ("open" if working else "off")}
            if slot["state"] == "open" and can_write:
                query = {"date": column["day"].isoformat(), "time": slot["time"]}
                if column["professional"] is not None:
                    query["professional"] = str(column["professional"].pk)
                slot["url"] = f"{new_url}?{urlencode(query)}"
            slots.append(slot)
        column["slots"] = slots
        column["items"], column["now"] = [], None
        if column["is_today"] and first_minute <= local_now.hour * 60 + local_now.minute < last_minute:
            column["now"] = (local_now.hour * 60 + local_now.minute - first_minute) / step
        for appointment in appointments:
            local_start = appointment.starts_at.astimezone(zone)
            local_end = appointment.ends_at.astimezone(zone)
            if appointment.professional_id not in ids or not midnight <= local_start < next_midnight:
                continue
            start = local_start.hour * 60 + local_start.minute
            # Wall-clock minutes, as the rows are; an appointment running past midnight stops at the bottom.
            end = local_end.hour * 60 + local_end.minute if local_end.date() == column["day"] else 24 * 60
            appointment.local_start, appointment.local_end = local_start, local_end
            column["items"].append({
                "appointment": appointment, "start": start, "end": end, "minutes": int(end - start),
                "top": (start - first_minute) / step, "height": max(end - start, step / 2) / step,
                "colour": colours.get(appointment.service_id, {"fill": "#fff", "edge": "#334155"}),
                "short": end - start < 30,
                "movable": can_write and appointment.is_active and appointment.starts_at > now,
            })
        _lanes(column["items"])

    hours = [{"label": f"{minute // 60:02d}:00", "row": (minute - first_minute) // step}
             for minute in range(first_minute, last_minute, 60)]
    services_seen = {a.service_id: a.service for a in appointments}
    period = dt.timedelta(days=length)
    return render(request, "scheduling/console/agenda.html", {
        "mode": mode, "day": day, "days": days, "columns": columns, "hours": hours, "rows": rows, "step": step,
        "first_minute": first_minute, "professionals": professionals, "shown": shown, "chosen": chosen,
        "show_cancelled": show_cancelled, "previous": first - period, "next": first + period, "today": today,
        "timezone": clinic.timezone, "can_write": can_write,
        "legend": [{"service": service, "colour": colours.get(service.pk)}
                   for service in sorted(services_seen.values(), key=lambda service: service.name)],
        "statuses": Appointment.Status.choices,
    })


def _filtered(filterset_class, request, queryset, data=None):
    """The console list narrowed by the same FilterSet as the API (from the query string, or `data`);
    unreadable filters are ignored."""
    filterset = filterset_class(request.GET if data is None else data, queryset=queryset, request=request)
    try:
        return filterset.qs if filterset.is_valid() else queryset
    except DjangoValidationError:
        return queryset


# Refusals about the time itself are shown beside the time field; the others above the form.
TIME_CODES = {"IN_THE_PAST", "TOO_SOON", "TOO_FAR_AHEAD", "OUTSIDE_WORKING_HOURS"}


def _form_error(form, error):
    form.add_error("time" if str(error.code) in TIME_CODES else None, error.message)


def _agenda_url(appointment, clinic):
    local = appointment.starts_at.astimezone(selectors.clinic_zone(clinic)).date()
    return f"{reverse('scheduling:agenda')}?date={local.isoformat()}"


@console_page(write=True)
def appointment_new(request):
    """Book from the console: staff pick one of the patients with the phone typed, or book a new patient."""
    if not request.auth.can("write"):
        raise PermissionDenied
    clinic = request.clinic
    # A click on a free time of the agenda opens this form with its professional, date and time.
    initial = {key: request.GET.get(key) for key in ("date", "time", "professional") if request.GET.get(key)}
    # The patient record's "Book" opens this form for that patient (`?patient=<id>`).
    chosen = patients.patients_for(clinic).filter(pk=request.GET["patient"]).first() if _is_uuid(
        request.GET.get("patient")) else None
    if chosen is not None:
        initial.update(patient=chosen.pk, patient_phone=chosen.phone, patient_name=chosen.name)
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
            _form_error(form, error)
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
    full = patients.can_read_pii(request.auth)  # viewers see initials and the phone's ends, and no notes
    initial = {"professional": appointment.professional_id, "date": local.date(), "time": local.time(),
               "status": appointment.status, "notes": appointment.notes if full else ""}
    form = AppointmentEditForm(request.POST or None, clinic=clinic, initial=initial)
    if request.method == "GET":
        record(request, "appointment.read", "appointment", appointment.pk, _("console appointment page"),
               clinic=clinic, masked=not full)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            appointment = services.appointment_update(
                appointment=appointment, starts_at=form.starts_at, professional=data["professional"],
                notes=data["notes"], status=data["status"], source=Appointment.Source.STAFF, actor=request)
        except DomainError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("Appointment saved."))
            return redirect(_agenda_url(appointment, clinic))
    shown = {"name": appointment.patient.name if full else patients.mask_name(appointment.patient.name),
             "phone": appointment.patient.phone if full else patients.mask_phone(appointment.patient.phone)}
    return render(request, "scheduling/console/appointment_form.html",
                  {"form": form, "appointment": appointment, "patient_shown": shown},
                  status=400 if form.errors else 200)


@require_POST
@console_page(write=True)
def appointment_move(request, appointment_id):
    """JSON for the agenda's drag and drop: `{"date": "YYYY-MM-DD", "time": "HH:MM", "professionalId": id?}` in
    the clinic's wall clock moves the appointment through `appointment_reschedule`; a refusal answers its code,
    message and the status of `status_for` (docs/api/README.md), and changes nothing."""
    clinic = request.clinic
    parsed = _agenda_change(request, appointment_id, AppointmentMoveForm,
                            _("Send a JSON object with the new date and time."))
    if isinstance(parsed, JsonResponse):
        return parsed
    appointment, form = parsed
    try:
        appointment = services.appointment_reschedule(
            appointment=appointment, starts_at=form.starts_at, professional=form.cleaned_data["professionalId"],
            source=Appointment.Source.STAFF, actor=request)
    except DomainError as error:
        return _json_error(error.code, error.message, error.details)
    zone = selectors.clinic_zone(clinic)
    local_start, local_end = appointment.starts_at.astimezone(zone), appointment.ends_at.astimezone(zone)
    return JsonResponse({
        "id": str(appointment.pk), "professionalId": str(appointment.professional_id),
        "startsAt": appointment.starts_at.isoformat(), "endsAt": appointment.ends_at.isoformat(),
        "date": local_start.date().isoformat(), "time": local_start.strftime("%H:%M"),
        "endTime": local_end.strftime("%H:%M"),
        "message": _("Moved to %(date)s at %(time)s.") % {"date": local_start.strftime("%d/%m"),
                                                           "time": local_start.strftime("%H:%M")},
    })


@require_POST
@console_page(write=True)
def appointment_resize(request, appointment_id):
    """JSON for the agenda's resize handle: `{"endTime": "HH:MM"}` (the clinic's wall clock, on the appointment's
    day; "24:00" for midnight) changes when the appointment ends through `appointment_resize`; a refusal answers
    its code, message and the status of `status_for` (docs/api/README.md), and changes nothing."""
    clinic = request.clinic
    parsed = _agenda_change(request, appointment_id, AppointmentResizeForm,
                            _("Send a JSON object with the new end time."))
    if isinstance(parsed, JsonResponse):
        return parsed
    appointment, form = parsed
    try:
        appointment = services.appointment_resize(appointment=appointment, ends_at=form.ends_at(appointment),
                                                  source=Appointment.Source.STAFF, actor=request)
    except DomainError as error:
        return _json_error(error.code, error.message, error.details)
    zone = selectors.clinic_zone(clinic)
    local_start, local_end = appointment.starts_at.astimezone(zone), appointment.ends_at.astimezone(zone)
    return JsonResponse({
        "id": str(appointment.pk), "startsAt": appointment.starts_at.isoformat(),
        "endsAt": appointment.ends_at.isoformat(), "time": local_start.strftime("%H:%M"),
        "endTime": local_end.strftime("%H:%M"),
        "minutes": int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
        "message": _("Now ends at %(time)s.") % {"time": local_end.strftime("%H:%M")},
    })


def _agenda_change(request, appointment_id, form_class, not_an_object: str):
    """What the agenda's JSON changes (move, resize) parse alike: this clinic's appointment (else 404) and the
    body through `form_class`; (appointment, form), or the JSON error to answer."""
    appointment = Appointment.objects.for_clinic(request.clinic).filter(pk=appointment_id).first()
    if appointment is None:
        return _json_error("NOT_FOUND", _("Appointment not found."))
    body = _json_body(request)
    if body is None:
        return _json_error("VALIDATION_ERROR", not_an_object)
    form = form_class(body, clinic=request.clinic)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        return _json_error("VALIDATION_ERROR", errors[0], {field: errors[0]})
    return appointment, form


def _json_body(request) -> dict | None:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict):
        return None
    # Every field is a string; anything else counts as missing (the form then says which).
    return {key: value for key, value in body.items() if isinstance(value, str)}


def _json_error(code, message, details=None):
    return JsonResponse({"code": str(code), "message": str(message), "details": details or {}},
                        status=status_for(str(code)))


@require_POST
@console_page(write=True)
def appointment_cancel(request, appointment_id):
    """Cancel after staff confirmed it and gave a reason; the reason is kept in the appointment's notes, in the
    same `appointment_update` (one transaction) that cancels it."""
    clinic = request.clinic
    appointment = get_object_or_404(Appointment.objects.for_clinic(clinic), pk=appointment_id)
    form = CancelForm(request.POST, appointment=appointment)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, errors[0])
        return redirect("scheduling:appointment_edit", appointment_id=appointment.pk)
    try:
        services.appointment_update(appointment=appointment, status=Appointment.Status.CANCELLED,
                                    notes=form.notes, source=Appointment.Source.STAFF, actor=request)
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


@require_POST
@console_page(write=True)
def appointment_attendance(request, appointment_id):
    """The home's check-in / no-show buttons: `attended=1` checks the patient in, `attended=0` marks a no-show."""
    appointment = get_object_or_404(Appointment.objects.for_clinic(request.clinic), pk=appointment_id)
    choice = request.POST.get("attended")
    if choice not in ("0", "1"):
        return render(request, "errors/400.html", {"status": 400, "message": _("Choose check-in or no-show.")},
                      status=400)
    try:
        services.appointment_attendance_record(appointment=appointment, attended=choice == "1", actor=request)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Patient checked in.") if choice == "1" else _("Marked as no-show."))
    return redirect("console:home")


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
