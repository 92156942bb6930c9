"""Django admin for support staff, one clinic at a time: a staff user sees only the clinics they support
(`User.support_clinics`), and another clinic's object answers 404 there as everywhere else. Superusers see all.
Models with no clinic are for superusers only.

One mechanism scopes everything a form can reach, so that no field becomes a way into another clinic:
- the rows listed and opened (`get_queryset`),
- the choices of every foreign-key and many-to-many field that points at a clinic or at a clinic-owned model
  (`formfield_for_foreignkey`, `formfield_for_manytomany`, inlines included), through the same tenancy path as
  every other edge (`ClinicOwned.objects.for_clinics`),
- and the save itself: a row (or an inline row) whose clinic is not one of the user's is refused (403), whatever
  the form let through.

Another clinic's object is 404 in every object view (change, delete, history), whatever the user's permissions
(Django checks a missing permission first and would answer 403), and in actions: selecting a row the user cannot
see is 404, never a silent "no items selected".
"""
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.options import TO_FIELD_VAR
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _

from .models import Clinic
from .tenancy import ClinicOwned


def supported_clinic_ids(user) -> list:
    return list(user.support_clinics.values_list("pk", flat=True))


def clinic_lookup_of(model) -> str | None:
    """The path from a row of `model` to its clinic ("pk" for `Clinic` itself), or None for a model no clinic
    owns (people, provider tables): those are for superusers only."""
    if model is Clinic:
        return "pk"
    if issubclass(model, ClinicOwned):
        return model.clinic_lookup
    return None


def clinic_id_of(obj, lookup: str):
    """The primary key of the clinic `obj` belongs to, read along `lookup` (None when it has none yet)."""
    if lookup == "pk":
        return obj.pk
    *path, last = lookup.split("__")
    value = obj
    for part in path:
        value = getattr(value, part, None)
        if value is None:
            return None
    field_id = f"{last}_id"
    if hasattr(value, field_id):
        return getattr(value, field_id)
    related = getattr(value, last, None)
    return getattr(related, "pk", None)


def scoped_choices(model, user):
    """The rows of `model` a form of `user` may point at, or None when the model is not clinic-owned (then the
    field is left as the admin built it)."""
    if user.is_superuser:
        return None
    if model is Clinic:
        return Clinic.objects.filter(pk__in=supported_clinic_ids(user))
    if issubclass(model, ClinicOwned):
        return model.objects.for_clinics(supported_clinic_ids(user))
    return None


def check_in_scope(user, obj) -> None:
    """Refuse (403) saving `obj` when its clinic is not one the user supports."""
    if user.is_superuser:
        return
    lookup = clinic_lookup_of(type(obj))
    if lookup is None or clinic_id_of(obj, lookup) not in supported_clinic_ids(user):
        raise PermissionDenied(_("This clinic is not one you support."))


def superuser_only(model_admin_class):
    """`model_admin_class` (another package's admin of a table no clinic owns) narrowed to superusers."""

    class SuperuserOnly(model_admin_class):
        def has_module_permission(self, request):
            return request.user.is_superuser

        def has_view_permission(self, request, obj=None):
            return request.user.is_superuser

        def has_add_permission(self, request, *args):
            return request.user.is_superuser

        def has_change_permission(self, request, obj=None):
            return request.user.is_superuser

        def has_delete_permission(self, request, obj=None):
            return request.user.is_superuser

    SuperuserOnly.__name__ = SuperuserOnly.__qualname__ = f"SuperuserOnly{model_admin_class.__name__}"
    return SuperuserOnly


def _clinic_ids_of_value(value) -> set:
    """The clinics of a form value that points at clinic-owned rows or clinics (a row, a queryset, a list)."""
    rows = value if isinstance(value, (list, tuple, set)) or hasattr(value, "model") else [value]
    ids = set()
    for row in rows:
        lookup = clinic_lookup_of(type(row)) if row is not None else None
        if lookup is not None:
            ids.add(clinic_id_of(row, lookup))
    return ids


def one_clinic_form(form_class, lookup: str):
    """`form_class` refusing a row that points at another clinic's rows than its own (a professional of one
    clinic offering another's service), for superusers too: tenancy holds inside every row."""

    class OneClinicForm(form_class):
        def clean(self):
            cleaned = super().clean()
            if lookup == "pk":
                own = self.instance.pk
            elif "clinic" in cleaned and lookup == "clinic":
                own = getattr(cleaned.get("clinic"), "pk", None)
            else:
                own = clinic_id_of(self.instance, lookup)
            if own is None:
                return cleaned
            for name, value in list(cleaned.items()):
                if name == "clinic" or value is None:
                    continue
                field_model = getattr(getattr(self.fields.get(name), "queryset", None), "model", None)
                if field_model is None or clinic_lookup_of(field_model) is None:
                    continue
                if _clinic_ids_of_value(value) - {own}:
                    self.add_error(name, _("This belongs to another clinic than the row's."))
            return cleaned

    OneClinicForm.__name__ = form_class.__name__
    return OneClinicForm


class ClinicScopedFormFields:
    """Limits every clinic-pointing field of a ModelAdmin or an inline to the user's clinics."""

    def _narrow(self, db_field, request, kwargs):
        queryset = scoped_choices(db_field.remote_field.model, request.user)
        if queryset is not None:
            given = kwargs.get("queryset")
            kwargs["queryset"] = queryset if given is None else given.filter(pk__in=queryset.values("pk"))
        return kwargs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return super().formfield_for_foreignkey(db_field, request, **self._narrow(db_field, request, kwargs))

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return super().formfield_for_manytomany(db_field, request, **self._narrow(db_field, request, kwargs))


class ClinicScopedInline(ClinicScopedFormFields):
    """Mix into every TabularInline/StackedInline of a scoped admin."""


class ClinicScopedAdmin(ClinicScopedFormFields, admin.ModelAdmin):
    """`clinic_lookup` is the path from the model to its clinic; by default the model's own (`ClinicOwned`) or
    "pk" for `Clinic`."""

    clinic_lookup = None

    def _lookup(self):
        return self.clinic_lookup or clinic_lookup_of(self.model)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        lookup = self._lookup()
        if lookup is None:
            return queryset.none()
        return queryset.filter(**{f"{lookup}__in": supported_clinic_ids(request.user)})

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        lookup = self._lookup()
        return one_clinic_form(form_class, lookup) if lookup else form_class

    def get_inline_instances(self, request, obj=None):
        inlines = super().get_inline_instances(request, obj)
        for inline in inlines:
            # An inline that forgot the mixin would offer every clinic's rows: refuse to build the page.
            if not isinstance(inline, ClinicScopedFormFields):
                raise TypeError(f"{type(inline).__name__} must derive from clinics.admin_scoping.ClinicScopedInline")
        return inlines

    def save_model(self, request, obj, form, change):
        check_in_scope(request.user, obj)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        for inline_form in formset.forms:
            if inline_form.has_changed() and not formset._should_delete_form(inline_form):
                check_in_scope(request.user, inline_form.instance)
        super().save_formset(request, form, formset, change)

    def has_module_permission(self, request):
        if not request.user.is_superuser and self._lookup() is None:
            return False
        return super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        if not request.user.is_superuser and self._lookup() is None:
            return False
        return super().has_view_permission(request, obj)

    def _in_scope_or_404(self, request, object_id):
        to_field = request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR))
        if to_field and not self.to_field_allowed(request, to_field):
            return  # Django refuses it next, as it would anyway
        if self.get_object(request, unquote(object_id), to_field) is None:
            raise Http404

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._in_scope_or_404(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._in_scope_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._in_scope_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def response_action(self, request, queryset):
        selected = set(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
        if selected:
            try:
                found = self.get_queryset(request).filter(pk__in=selected).count()
            except (ValidationError, ValueError):
                found = -1
            if found != len(selected):
                raise Http404
        return super().response_action(request, queryset)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Admin redirects to the list by default; an object outside the user's clinics simply does not exist.
        raise Http404


class ReadOnlyScopedAdmin(ClinicScopedAdmin):
    """A scoped admin that only shows: rows are written by their services, never added, edited or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
