"""Django admin of rows that hold personal data: read-only, masked for support viewers, every read audited.

- Who reads what: a support user is a *viewer* of their clinics' personal data (names as initials, phones by
  their ends, e-mails by their domain, free text hidden, as the console shows a viewer) unless a superuser grants
  them `clinics.read_pii`; superusers read it. `support_reads_pii(user)` is that one rule.
- Every page that shows personal data, masked or not, writes audit rows (`clinics.audit`): a change page one row
  naming its object, a list page one row per clinic on the page naming every row shown (`extra`: their ids and
  whether they were masked). Nothing is written for a page that shows nobody.
- Read-only: changes to these rows go through their app's services (which keep indexes, files and the audit log
  right), so the admin never adds, edits or deletes them; an RGPD export or erasure is an admin action that calls
  the service (scheduling/admin.py).

Rows carry the reader's right as an annotation (`admin_reads_pii`), so display methods, which Django calls
without the request, show each value through `shown()` and mask by default.
"""
from django.contrib.admin.views.main import SEARCH_VAR
from django.db.models import BooleanField, Value
from django.utils.translation import gettext_lazy as _

from .admin_scoping import ClinicScopedInline, ReadOnlyScopedAdmin
from .audit import audit_event, record
from .models import AuditEvent

PURPOSE = "support (Django admin)"
HIDDEN = _("(hidden: personal data)")


def support_reads_pii(user) -> bool:
    """Whether this admin user sees personal data unmasked: superusers and support staff granted `read_pii`."""
    return bool(user.is_active and (user.is_superuser or user.has_perm("clinics.read_pii")))


def shown(obj, value, mask=None):
    """`value` (a field of `obj`) as the reader may see it: itself, `mask(value)`, or hidden when no mask fits
    (free text, dates of birth); masked whenever `obj` does not say the reader may read it."""
    if value is None:
        return ""  # Django's read-only field would print "None"
    if getattr(obj, "admin_reads_pii", False) or not value:
        return value
    return mask(value) if mask is not None else HIDDEN


def _with_reader_right(queryset, request):
    return queryset.annotate(admin_reads_pii=Value(support_reads_pii(request.user), output_field=BooleanField()))


class PiiInline(ClinicScopedInline):
    """A read-only inline of rows holding personal data; the parent's change page audits the read."""

    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return _with_reader_right(super().get_queryset(request), request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PiiAdmin(ReadOnlyScopedAdmin):
    """Base of every admin of a model holding personal data (see the module docstring).

    `audit_action` prefixes the actions written ("patient" -> "patient.read", "patient.list"), `audit_object_type`
    names what they are about; `audit_id(obj)` and `audit_clinic(obj)` name the row and its clinic (keep the
    clinic in `list_select_related`), `list_ids_key` the `extra` key of a list page's ids. A subclass lists its
    shown fields in `fields` (all read-only) and shows personal data only through `shown()`.
    """

    audit_action = ""
    audit_object_type = ""
    list_ids_key = "ids"
    list_shows_pii = True

    def audit_id(self, obj) -> str:
        return str(obj.pk)

    def audit_clinic(self, obj):
        return obj.clinic

    def get_queryset(self, request):
        return _with_reader_right(super().get_queryset(request), request)

    def get_readonly_fields(self, request, obj=None):
        return list(self.fields or ())

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        if self.list_shows_pii and request.method == "GET":
            self.record_list(request, list(changelist.result_list))
        return changelist

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            record(request, f"{self.audit_action}.read", self.audit_object_type, self.audit_id(obj), PURPOSE,
                   clinic=self.audit_clinic(obj), masked=not support_reads_pii(request.user))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def record_list(self, request, rows) -> None:
        """One audit row per clinic among `rows` (a list page), naming every row of it shown; one statement."""
        by_clinic = {}
        for row in rows:
            clinic = self.audit_clinic(row)
            by_clinic.setdefault(getattr(clinic, "pk", None), (clinic, []))[1].append(self.audit_id(row))
        masked = not support_reads_pii(request.user)
        AuditEvent.objects.bulk_create([
            audit_event(request, f"{self.audit_action}.list", self.audit_object_type, "", PURPOSE, clinic=clinic,
                        masked=masked, search=bool(request.GET.get(SEARCH_VAR)),
                        **{self.list_ids_key: ids})
            for clinic, ids in by_clinic.values()])
