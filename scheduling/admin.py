"""Support staff's view of scheduling data: patients through clinics/admin_pii.py (masked for support viewers,
every read audited, found through the keyed hashes), their RGPD export and erasure as actions of the services;
patient imports' progress and bad rows, never their files."""
import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinics.admin_pii import PiiAdmin, shown, support_reads_pii
from clinics.admin_scoping import ClinicScopedAdmin, ClinicScopedInline
from clinics.masking import mask_email, mask_name, mask_phone

from . import imports, patients
from .admin_patient_rows import search_clinic
from .models import (Appointment, AvailabilityException, Patient, PatientImport, Professional, Service,
                     WorkingHours)


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
    """Read-only: bookings change through scheduling.services, which keep the range and the audit log right.
    The patient and the visit's notes (health data) stay off: the patient's own page shows who it is, audited."""

    list_display = ("starts_at", "clinic", "professional", "service", "status", "source")
    list_filter = ("status", "source")
    date_hierarchy = "starts_at"
    exclude = ("patient", "notes")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


ERASE_WORD = "ERASE"


@admin.register(Patient)
class PatientAdmin(PiiAdmin):
    """Patients for support staff: read-only (changes go through the console and the API, which keep the blind
    indexes right); searched by name words, a full phone or the hash through the keyed hashes, never by
    decrypting the table; exported and erased through the RGPD services, after a confirmation."""

    audit_action = audit_object_type = "patient"
    list_ids_key = "hashes"
    list_display = ("hash", "name_shown", "phone_shown", "clinic", "erased", "created_at")
    list_select_related = ("clinic",)
    ordering = ("-created_at", "-id")
    search_fields = ("hash",)  # the box; get_search_results does the search
    search_help_text = gettext_lazy("Name words (or their beginnings), a full phone number or a patient's hash. "
                                    "Searched through keyed hashes: nothing is decrypted.")
    fields = ("hash", "clinic", "name_shown", "phone_shown", "email_shown", "owner_name_shown", "birth_date_shown",
              "gender", "species", "external_id_shown", "tags", "consents", "created_at")
    actions = ["export_selected", "erase_selected"]

    def audit_id(self, obj):
        return obj.hash

    @admin.display(description=gettext_lazy("name"))
    def name_shown(self, obj):
        return shown(obj, obj.name, mask_name)

    @admin.display(description=gettext_lazy("phone"))
    def phone_shown(self, obj):
        return shown(obj, obj.phone, mask_phone)

    @admin.display(description=gettext_lazy("e-mail"))
    def email_shown(self, obj):
        return shown(obj, obj.email, mask_email)

    @admin.display(description=gettext_lazy("owner's name"))
    def owner_name_shown(self, obj):
        return shown(obj, obj.owner_name, mask_name)

    @admin.display(description=gettext_lazy("birth date"))
    def birth_date_shown(self, obj):
        return shown(obj, obj.birth_date)

    @admin.display(description=gettext_lazy("external id"))
    def external_id_shown(self, obj):
        return shown(obj, obj.external_id)

    @admin.display(description=gettext_lazy("erased"), boolean=True)
    def erased(self, obj):
        return patients.ERASED_TAG in (obj.tags or [])

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(hash=term) | patients.search_terms(term, search_clinic(request))), False

    # --- RGPD actions: the services of scheduling.patients, after a confirmation page -------------------------

    def has_export_permission(self, request):
        """An export decrypts everything held about the patient: support staff who read personal data only."""
        return support_reads_pii(request.user) and self.has_view_permission(request)

    def has_erase_permission(self, request):
        """Erasure destroys personal data: support staff who read it and may delete patients."""
        return support_reads_pii(request.user) and request.user.has_perm("scheduling.delete_patient")

    @admin.action(description=gettext_lazy("Export the selected patients' data (RGPD access request)"),
                  permissions=["export"])
    def export_selected(self, request, queryset):
        def export(rows):
            data = [patients.export_patient(patient, source=request, purpose="support: data subject access request")
                    for patient in rows]
            name = f"patient-{rows[0].hash}.json" if len(rows) == 1 else "patients.json"
            response = HttpResponse(json.dumps({"patients": data}, ensure_ascii=False, indent=2),
                                    content_type="application/json")
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response

        return self._confirmed(request, queryset, action="export_selected", word="", run=export,
                               title=_("Export the personal data of these patients?"), button=_("Export"),
                               text=_("A JSON file with everything Frontdesk holds about each patient is downloaded. "
                                      "The export is written to the audit log."))

    @admin.action(description=gettext_lazy("Erase the selected patients' personal data (RGPD erasure)"),
                  permissions=["erase"])
    def erase_selected(self, request, queryset):
        def erase(rows):
            for patient in rows:
                patients.erase_patient(patient, source=request, purpose="support: right to erasure")
            self.message_user(request, _("The personal data of %(count)d patient(s) was erased.")
                              % {"count": len(rows)}, messages.SUCCESS)

        return self._confirmed(request, queryset, action="erase_selected", word=ERASE_WORD, run=erase,
                               title=_("Erase the personal data of these patients?"), button=_("Erase"),
                               text=_("Names, phones, e-mails and everything else personal about each patient are "
                                      "destroyed in every app, for good. Appointments stay, anonymised. The erasure "
                                      "is written to the audit log."))

    def _confirmed(self, request, queryset, *, action, word, run, title, button, text):
        """`run(rows)` once the user confirmed on the page this renders (typing `word`, when there is one)."""
        rows = list(queryset.select_related("clinic").order_by("created_at", "id"))
        error = ""
        if request.POST.get("confirmed") == "yes":
            if not word or request.POST.get("confirm_word", "").strip().upper() == word:
                return run(rows)
            error = _("Type %(word)s to confirm.") % {"word": word}
        context = {
            **self.admin_site.each_context(request), "title": title, "text": text, "button": button,
            "opts": self.opts, "rows": rows, "action": action, "word": word, "error": error,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/confirm_rgpd_action.html", context)


ROW_ERRORS_SHOWN = 50


@admin.register(PatientImport)
class PatientImportAdmin(PiiAdmin):
    """CSV imports of patients for support staff: their progress and bad rows, never the file (kept encrypted
    only until the import has run; not even loaded here). The file's first row is read as its headers, so a file
    without a header row puts a patient there: headers and chosen columns are personal data for this admin
    (hidden for support viewers, the page audited). Row errors are shown by row, field and problem, which name no
    value. Imports start and run through scheduling.imports."""

    audit_action = audit_object_type = "patient_import"
    list_shows_pii = False
    list_display = ("created_at", "clinic", "filename", "status", "total_rows", "processed_rows", "created_count",
                    "duplicate_count", "error_count", "completed_at")
    list_filter = ("status",)
    list_select_related = ("clinic",)
    search_fields = ("filename",)
    date_hierarchy = "created_at"
    fields = ("id", "clinic", "filename", "status", "file_held", "headers_shown", "columns_shown", "total_rows",
              "processed_rows", "created_count", "duplicate_count", "error_count", "row_errors", "started_by",
              "created_at", "started_at", "completed_at")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content").annotate(
            file_kept=ExpressionWrapper(~Q(content=""), output_field=BooleanField()))

    @admin.display(description=gettext_lazy("file kept"), boolean=True)
    def file_held(self, job):
        return job.file_kept

    @admin.display(description=gettext_lazy("headers"))
    def headers_shown(self, job):
        return shown(job, ", ".join(job.headers or []))

    @admin.display(description=gettext_lazy("columns"))
    def columns_shown(self, job):
        return shown(job, ", ".join(f"{field} ← {header}" for field, header in (job.columns or {}).items()))

    @admin.display(description=gettext_lazy("row errors"))
    def row_errors(self, job):
        errors = (job.errors or [])[:ROW_ERRORS_SHOWN]
        return format_html_join(mark_safe("<br>"), "{} {}, {}: {}", (
            (_("row"), error.get("row"), error.get("field"), imports.row_error_message(error))
            for error in errors))

    @admin.display(description=gettext_lazy("started by"))
    def started_by(self, job):
        return (job.actor or {}).get("label", "")
