"""Console forms of scheduling. They convert and validate shapes; scheduling.services applies the rules."""
import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator

from clinics import money
from clinics.errors import DomainError

from . import selectors, services
from .models import LIMITS, Appointment, AvailabilityException, Patient, Professional, Service


def clinic_instant(clinic, day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=selectors.clinic_zone(clinic))


def _no_past_dates(form):
    """The date picker starts at the clinic's today, so staff do not pick a past day by mistake (the service
    still refuses a past time: IN_THE_PAST)."""
    today = timezone.localdate(timezone=selectors.clinic_zone(form.clinic))
    form.fields["date"].widget.attrs["min"] = today.isoformat()


class ClinicForm(forms.Form):
    def __init__(self, *args, clinic, **kwargs):
        self.clinic = clinic
        super().__init__(*args, **kwargs)


class AppointmentCreateForm(ClinicForm):
    professional = forms.ModelChoiceField(queryset=Professional.objects.none(), label=_("Professional"))
    service = forms.ModelChoiceField(queryset=Service.objects.none(), label=_("Service"))
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(label=_("Time"), widget=forms.TimeInput(attrs={"type": "time"}))
    patient_phone = forms.CharField(label=_("Patient phone"), max_length=LIMITS["phone"])
    # Filled in by the page's script when staff pick one of the patients with that phone; empty = a new patient.
    patient = forms.ModelChoiceField(queryset=Patient.objects.none(), required=False, widget=forms.HiddenInput)
    patient_name = forms.CharField(label=_("Patient name"), max_length=LIMITS["name"], required=False)
    patient_email = forms.EmailField(label=_("Patient e-mail"), required=False, max_length=LIMITS["email"])
    notes = forms.CharField(label=_("Notes"), required=False, max_length=LIMITS["notes"],
                            widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["professional"].queryset = Professional.objects.for_clinic(self.clinic).filter(active=True)
        self.fields["service"].queryset = Service.objects.for_clinic(self.clinic).filter(active=True)
        self.fields["patient"].queryset = Patient.objects.for_clinic(self.clinic)
        _no_past_dates(self)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("patient") and not (cleaned.get("patient_name") or "").strip():
            self.add_error("patient_name", _("Type the patient's name, or choose one of the patients listed."))
        return cleaned

    @property
    def starts_at(self):
        return clinic_instant(self.clinic, self.cleaned_data["date"], self.cleaned_data["time"])


class AppointmentEditForm(ClinicForm):
    professional = forms.ModelChoiceField(queryset=Professional.objects.none(), label=_("Professional"))
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(label=_("Time"), widget=forms.TimeInput(attrs={"type": "time"}))
    status = forms.ChoiceField(label=_("Status"), choices=Appointment.Status.choices)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=LIMITS["notes"],
                            widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["professional"].queryset = Professional.objects.for_clinic(self.clinic)
        if self.initial.get("status") != Appointment.Status.CANCELLED:
            # Cancelling goes through its own confirmation, which asks for the reason (CancelForm).
            self.fields["status"].choices = [choice for choice in Appointment.Status.choices
                                             if choice[0] != Appointment.Status.CANCELLED]

    @property
    def starts_at(self):
        return clinic_instant(self.clinic, self.cleaned_data["date"], self.cleaned_data["time"])


class AppointmentMoveForm(ClinicForm):
    """The agenda's drag and drop (a JSON body): the new local date and time, and the column's professional."""

    date = forms.DateField(input_formats=["%Y-%m-%d"], error_messages={"required": _("Say the new date."),
                                                                       "invalid": _("Use a date like 2027-01-31.")})
    time = forms.TimeField(input_formats=["%H:%M"], error_messages={"required": _("Say the new time."),
                                                                    "invalid": _("Use a time like 09:30.")})
    professionalId = forms.UUIDField(required=False)

    def clean_professionalId(self):
        value = self.cleaned_data.get("professionalId")
        if value is None:
            return None
        professional = Professional.objects.for_clinic(self.clinic).filter(pk=value).first()
        if professional is None:
            raise forms.ValidationError(_("Unknown professional."))
        return professional

    @property
    def starts_at(self):
        return clinic_instant(self.clinic, self.cleaned_data["date"], self.cleaned_data["time"])


class AppointmentResizeForm(ClinicForm):
    """The agenda's resize handle (a JSON body): the new end as a time of the clinic's wall clock on the
    appointment's own day; "24:00" is the midnight that closes it."""

    endTime = forms.RegexField(regex=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
                               error_messages={"required": _("Say the new end time."),
                                               "invalid": _("Use a time like 10:45.")})

    def ends_at(self, appointment) -> dt.datetime:
        day = appointment.starts_at.astimezone(selectors.clinic_zone(self.clinic)).date()
        text = self.cleaned_data["endTime"]
        if text == "24:00":
            return clinic_instant(self.clinic, day + dt.timedelta(days=1), dt.time(0))
        return clinic_instant(self.clinic, day, dt.time.fromisoformat(text))


class CancelForm(forms.Form):
    """Cancelling asks why: the reason is added to the appointment's notes, dated, so the desk sees it later."""

    reason = forms.CharField(label=_("Reason for cancelling"), max_length=LIMITS["reason"],
                             widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": _("Say why the appointment is cancelled.")})

    def __init__(self, *args, appointment, **kwargs):
        self.appointment = appointment
        super().__init__(*args, **kwargs)

    def clean_reason(self):
        reason = " ".join(self.cleaned_data["reason"].split())
        if not reason:
            raise forms.ValidationError(_("Say why the appointment is cancelled."))
        return reason

    @property
    def notes(self) -> str:
        line = _("Cancelled (%(day)s): %(reason)s") % {
            "day": timezone.localdate(timezone=selectors.clinic_zone(self.appointment.clinic)).isoformat(),
            "reason": self.cleaned_data["reason"]}
        notes = "\n".join(filter(None, [self.appointment.notes.rstrip(), str(line)]))
        return notes[-LIMITS["notes"]:]


class ServiceForm(forms.ModelForm):
    """A service; the price is typed in currency units in the reader's number format ("1 234,50" or "1234,50" in
    pt-PT: `money.parse_amount`) and stored in minor units (clinics.money)."""

    price = money.AmountField(label=_("Price"), min_value=0, required=False,
                              widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                              help_text=_("In the service's currency, e.g. 45.50."))

    class Meta:
        model = Service
        fields = ["name", "duration_minutes", "price", "currency", "buffer_before_minutes", "buffer_after_minutes",
                  "online_bookable", "active"]
        labels = {"name": _("Name"), "duration_minutes": _("Duration (minutes)"),
                  "currency": _("Currency"), "buffer_before_minutes": _("Buffer before (minutes)"),
                  "buffer_after_minutes": _("Buffer after (minutes)"), "online_bookable": _("Bookable online"),
                  "active": _("Active")}

    BOUNDS = {"duration_minutes": (1, LIMITS["duration_minutes"]),
              "buffer_before_minutes": (0, LIMITS["buffer_minutes"]),
              "buffer_after_minutes": (0, LIMITS["buffer_minutes"])}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (low, high) in self.BOUNDS.items():
            field = self.fields[name]
            field.min_value, field.max_value = low, high
            field.widget.attrs.update(min=low, max=high)
            field.validators += [MinValueValidator(low), MaxValueValidator(high)]
        self.fields["currency"].validators.append(
            RegexValidator(r"^[A-Z]{3}$", _("Three capital letters, e.g. EUR.")))
        if not self.is_bound:
            self.initial["price"] = money.to_units(self.instance.price or 0, self.instance.currency or "EUR")

    def clean(self):
        cleaned = super().clean()
        units = cleaned.get("price")
        currency = cleaned.get("currency") or self.instance.currency or "EUR"
        if units is None:
            cleaned["price"] = 0
            return cleaned
        try:
            cleaned["price"] = money.to_minor(units, currency)
        except ValueError:
            self.add_error("price", _("At most %(digits)d decimal places in %(currency)s.") % {
                "digits": money.minor_digits(currency), "currency": currency})
            return cleaned
        if cleaned["price"] > LIMITS["price"]:
            self.add_error("price", _("At most %(amount)s.") % {
                "amount": money.format_money(LIMITS["price"], currency)})
        return cleaned


class WeekdayHoursInput(forms.Widget):
    """One weekday's time ranges, posted as repeated `<name>-start` / `<name>-end` time inputs and a `<name>-closed`
    box; templates/scheduling/console/_weekday_hours.html draws them and static/js/hours-editor.js adds and removes
    rows."""

    def value_from_datadict(self, data, files, name):
        if data.get(f"{name}-closed"):
            return {"closed": True, "intervals": []}
        listed = getattr(data, "getlist", lambda key: [data[key]] if key in data else [])
        starts, ends = listed(f"{name}-start"), listed(f"{name}-end")
        pairs = [[(start or "").strip(), (end or "").strip()] for start, end in zip(starts, ends)
                 if (start or "").strip() or (end or "").strip()]
        return {"closed": not pairs, "intervals": pairs}

    def value_omitted_from_data(self, data, files, name):
        return False


class WeekdayHoursField(forms.Field):
    """A weekday's working intervals, checked by the scheduling service's own rule (services.parse_weekly_schedule),
    so that an error belongs to its day."""

    widget = WeekdayHoursInput

    def __init__(self, *, day, **kwargs):
        self.day = day
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        return value if isinstance(value, dict) else {"closed": True, "intervals": []}

    def validate(self, value):
        for start, end in value["intervals"]:
            if not start or not end:
                raise forms.ValidationError(_("Give each interval a start and an end."))
            try:
                dt.time.fromisoformat(start), dt.time.fromisoformat(end)
            except ValueError:
                raise forms.ValidationError(_("Enter times such as 09:00."))
        try:
            services.parse_weekly_schedule({self.day: value["intervals"]})
        except DomainError as error:
            raise forms.ValidationError(error.message)


class ProfessionalForm(forms.ModelForm):
    """The professional and their week: per weekday, time ranges or closed (`WeekdayHoursField`)."""

    class Meta:
        model = Professional
        fields = ["name", "specialty", "email", "phone", "colour", "active", "services"]
        labels = {"name": _("Name"), "specialty": _("Specialty"), "email": _("E-mail"), "phone": _("Phone"),
                  "colour": _("Colour"), "active": _("Active"), "services": _("Services")}
        widgets = {"colour": forms.TextInput(attrs={"type": "color"}),
                   "services": forms.CheckboxSelectMultiple}

    DAY_LABELS = (_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"),
                  _("Sunday"))

    def __init__(self, *args, clinic, **kwargs):
        self.clinic = clinic
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = Service.objects.for_clinic(clinic)
        if not self.instance._state.adding:
            schedule = selectors.weekly_schedule(self.instance.working_hours.all())
        else:
            schedule = {day: selectors.opening_hours(clinic).get(day, []) for day in selectors.WEEKDAYS}
        for day, label in zip(selectors.WEEKDAYS, self.DAY_LABELS):
            intervals = [list(pair) for pair in schedule.get(day, [])]
            self.fields[f"hours_{day}"] = WeekdayHoursField(
                day=day, label=label, initial={"closed": not intervals, "intervals": intervals})

    def hour_fields(self):
        return [self[f"hours_{day}"] for day in selectors.WEEKDAYS]

    def clean(self):
        cleaned = super().clean()
        days = {day: cleaned.get(f"hours_{day}") for day in selectors.WEEKDAYS}
        if all(value is not None for value in days.values()):
            try:
                cleaned["working_hours"] = services.parse_weekly_schedule(
                    {day: value["intervals"] for day, value in days.items()})
            except DomainError as error:
                raise forms.ValidationError(error.message)
        return cleaned


class OpeningHoursForm(ClinicForm):
    """The clinic's week: per weekday, time ranges or closed, as in the professional form."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        schedule = selectors.opening_hours(self.clinic)
        for day, label in zip(selectors.WEEKDAYS, ProfessionalForm.DAY_LABELS):
            intervals = [list(pair) for pair in schedule.get(day) or []]
            self.fields[f"hours_{day}"] = WeekdayHoursField(
                day=day, label=label, initial={"closed": not intervals, "intervals": intervals})

    def hour_fields(self):
        return [self[f"hours_{day}"] for day in selectors.WEEKDAYS]

    @property
    def schedule(self) -> dict:
        return {day: self.cleaned_data[f"hours_{day}"]["intervals"] for day in selectors.WEEKDAYS}


class ExceptionForm(ClinicForm):
    """Time off, extra hours or a clinic-wide closure, entered in the clinic's local time."""

    professional = forms.ModelChoiceField(queryset=Professional.objects.none(), required=False,
                                          label=_("Professional"), empty_label=_("Whole clinic"))
    kind = forms.ChoiceField(label=_("Kind"), choices=AvailabilityException.Kind.choices)
    starts = forms.DateTimeField(label=_("From"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends = forms.DateTimeField(label=_("Until"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=LIMITS["reason"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["professional"].queryset = Professional.objects.for_clinic(self.clinic).filter(active=True)

    def clean(self):
        cleaned = super().clean()
        zone = selectors.clinic_zone(self.clinic)
        for name in ("starts", "ends"):
            if cleaned.get(name) is not None:
                # The browser sends wall-clock time; it is the clinic's, not the server's.
                cleaned[name] = cleaned[name].replace(tzinfo=None).replace(tzinfo=zone)
        kind = cleaned.get("kind")
        if kind and kind != AvailabilityException.Kind.CLOSURE and cleaned.get("professional") is None:
            self.add_error("professional", _("Choose the professional (only closures are clinic-wide)."))
        if cleaned.get("starts") and cleaned.get("ends") and cleaned["starts"] >= cleaned["ends"]:
            self.add_error("ends", _("The end must be after the start."))
        return cleaned
