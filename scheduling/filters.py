"""One FilterSet per listed resource of scheduling, used by the API views (`filterset_class`) and the console
lists alike. Filters narrow a queryset already scoped to the caller's clinic; the clinic (for its time zone)
comes from `clinic=` or the request's credential."""
import datetime as dt

import django_filters
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from . import patients, selectors
from .models import Appointment, Patient, Professional, Service


class ClinicFilterSet(django_filters.FilterSet):
    def __init__(self, data=None, queryset=None, *, clinic=None, request=None, **kwargs):
        super().__init__(data, queryset, request=request, **kwargs)
        auth = getattr(request, "auth", None)
        self.clinic = clinic or getattr(request, "clinic", None) or getattr(auth, "clinic", None)


class InstantFilter(django_filters.CharFilter):
    """An ISO date-time (naive = the clinic's wall clock), or a date read as the clinic's local midnight (the
    next day's for an upper bound, so `to=2026-05-14` includes that day)."""

    def __init__(self, *args, end=False, **kwargs):
        self.end = end
        kwargs.setdefault("max_length", 40)
        super().__init__(*args, **kwargs)

    def filter(self, queryset, value):
        if not value:
            return queryset
        return super().filter(queryset, self.instant(value, self.parent.clinic))

    def instant(self, value, clinic):
        zone = selectors.clinic_zone(clinic)
        try:
            parsed = parse_datetime(value) if len(value) > 10 else None
            day = parse_date(value) if len(value) == 10 else None
        except ValueError:
            parsed = day = None
        try:
            if parsed is None:
                if day is None:
                    raise ValueError
                return selectors.local_midnight(day + dt.timedelta(days=1 if self.end else 0), zone)
            parsed = parsed.replace(tzinfo=zone) if timezone.is_naive(parsed) else parsed
            parsed.astimezone(dt.timezone.utc)  # a date at the very end of the calendar has no UTC instant
            return parsed
        except (ValueError, OverflowError):
            raise ValidationError({self.field_name: [_("Use an ISO 8601 date or date-time.")]})


class StatusListFilter(django_filters.CharFilter):
    """Comma-separated statuses: `status=scheduled,confirmed`."""

    def filter(self, queryset, value):
        statuses = [item for item in (value or "").split(",") if item]
        if not statuses:
            return queryset
        unknown = [item for item in statuses if item not in Appointment.Status.values]
        if unknown:
            raise ValidationError({"status": [_("Unknown status: %(value)s.") % {"value": ", ".join(unknown)[:100]}]})
        return queryset.filter(status__in=statuses)


class AppointmentFilter(ClinicFilterSet):
    """`from`, `to` (dates or date-times), `professionalId`, `status` (docs/api/clinic-v1.md, Appointments)."""

    starts_from = InstantFilter(field_name="starts_at", lookup_expr="gte")
    starts_to = InstantFilter(field_name="starts_at", lookup_expr="lt", end=True)
    professionalId = django_filters.UUIDFilter(field_name="professional_id")
    status = StatusListFilter(max_length=200)

    class Meta:
        model = Appointment
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # `from` is a Python keyword: the public names are mapped onto the filters here.
        self.filters["from"] = self.filters.pop("starts_from")
        self.filters["to"] = self.filters.pop("starts_to")


class PatientFilter(ClinicFilterSet):
    """`search`: name prefixes ("Mar" finds "Maria") or a full phone number, through the blind indexes."""

    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = Patient
        fields = []

    def filter_search(self, queryset, name, value):
        return queryset.filter(patients.search_terms(value, self.clinic)) if value else queryset


class ProfessionalFilter(ClinicFilterSet):
    active = django_filters.BooleanFilter()
    serviceId = django_filters.UUIDFilter(field_name="services")

    class Meta:
        model = Professional
        fields = []


class ServiceFilter(ClinicFilterSet):
    active = django_filters.BooleanFilter()
    onlineBookable = django_filters.BooleanFilter(field_name="online_bookable")

    class Meta:
        model = Service
        fields = []
