"""The list filters of calls, one FilterSet shared by `GET /v1/calls` (docs/api/clinic-v1.md, Calls) and
`GET /api/calls` (docs/api/dashboard.md, Calls): `status` and `direction`, each one of its documented values."""
import django_filters
from django import forms
from django.utils.translation import gettext as _

from .models import Call


class DocumentedChoiceField(forms.ChoiceField):
    """A choice whose refusal names the allowed values, as the surfaces document it."""

    def validate(self, value):
        if value and not self.valid_value(value):
            raise forms.ValidationError(
                _("Must be one of: %(choices)s.") % {"choices": ", ".join(str(key) for key, _label in self.choices)},
                code="invalid_choice")
        super().validate(value)


class DocumentedChoiceFilter(django_filters.ChoiceFilter):
    field_class = DocumentedChoiceField


class CallFilterSet(django_filters.FilterSet):
    status = DocumentedChoiceFilter(choices=Call.Status.choices)
    direction = DocumentedChoiceFilter(choices=Call.Direction.choices)

    class Meta:
        model = Call
        fields = []
