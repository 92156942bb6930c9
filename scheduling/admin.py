"""Support staff's view of scheduling data (patients' PII stays out of the admin)."""
from django.contrib import admin

from clinics.admin_scoping import ClinicScopedAdmin, ClinicScopedInline

from .models import Appointment, AvailabilityException, Professional, Service, WorkingHours


class WorkingHoursInline(ClinicScopedInline, admin.TabularInline):
    model = WorkingHours
    extra = 0


@admin.register(Professional)
class ProfessionalAdmin(ClinicScopedAdmin):
    list_display = ("name", "clinic", "specialty", "active")
    list_filter = ("active",)
    search_fields = ("name", "clinic__name")
    inlines = [WorkingHoursInline]
    filter_horizontal = ("services",)


@admin.register(Service)
class ServiceAdmin(ClinicScopedAdmin):
    list_display = ("name", "clinic", "duration_minutes", "price", "currency", "online_bookable", "active")
    list_filter = ("active", "online_bookable")
    search_fields = ("name", "clinic__name")


@admin.register(AvailabilityException)
class AvailabilityExceptionAdmin(ClinicScopedAdmin):
    list_display = ("clinic", "professional", "kind", "starts_at", "ends_at", "reason")
    list_filter = ("kind",)


@admin.register(Appointment)
class AppointmentAdmin(ClinicScopedAdmin):
    """Read-only: bookings change through scheduling.services, which keep the range and the audit log right."""

    list_display = ("starts_at", "clinic", "professional", "service", "status", "source")
    list_filter = ("status", "source")
    date_hierarchy = "starts_at"
    exclude = ("patient",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
