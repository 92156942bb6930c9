"""Console forms of engagement: what a page accepts, with the same bounds as the API's serializers."""
import datetime as dt
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import bulk

FUTURE_CHOICES = (("", "—"), ("yes", _("Has one")), ("no", _("Has none")))


class AudienceForm(forms.Form):
    """A campaign's audience filters as the console writes them (tags comma-separated, days in the clinic's zone):
    the live count reads these alone."""

    tags = forms.CharField(max_length=(bulk.MAX_TAG_LENGTH + 2) * bulk.MAX_AUDIENCE_TAGS, required=False)
    last_visit_before = forms.DateField(required=False)
    last_visit_after = forms.DateField(required=False)
    professional = forms.UUIDField(required=False)
    service = forms.UUIDField(required=False)
    future = forms.ChoiceField(choices=FUTURE_CHOICES, required=False)

    def __init__(self, *args, zone=None, **kwargs):
        self.zone = zone
        super().__init__(*args, **kwargs)

    def clean_tags(self):
        tags = [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]
        if len(tags) > bulk.MAX_AUDIENCE_TAGS or any(len(tag) > bulk.MAX_TAG_LENGTH for tag in tags):
            raise forms.ValidationError(_("At most %(n)s tags of %(length)s characters.")
                                        % {"n": bulk.MAX_AUDIENCE_TAGS, "length": bulk.MAX_TAG_LENGTH})
        return tags

    def _moment(self, day):
        if day is None:
            return None
        return timezone.make_aware(dt.datetime.combine(day, dt.time()), self.zone or dt.timezone.utc)

    def audience(self) -> bulk.Audience:
        data = self.cleaned_data
        return bulk.Audience(tags=data["tags"] or None, last_visit_before=self._moment(data["last_visit_before"]),
                             last_visit_after=self._moment(data["last_visit_after"]),
                             professional_id=data["professional"], service_id=data["service"],
                             has_future_appointment={"yes": True, "no": False}.get(data["future"]))


class CampaignForm(AudienceForm):
    """A bulk SMS campaign as the console's preview-then-confirm form writes it; `confirmed_targets` is the number of
    patients the confirmation named ("Send to 3 patients?"), which sending checks again."""

    name = forms.CharField(max_length=bulk.MAX_NAME_LENGTH, required=False)
    message = forms.CharField(max_length=bulk.MAX_MESSAGE_LENGTH, strip=False)
    confirmed_targets = forms.IntegerField(min_value=0, required=False)

    field_order = ["name", "message"]


class TaskForm(forms.Form):
    """A follow-up task as the console's form writes it; `patient` is a patient hash of the clinic, `assignee` a
    member id of the clinic or "phone_agent"."""

    title = forms.CharField(max_length=200, error_messages={"required": _("A task needs a title.")})
    description = forms.CharField(max_length=5000, required=False)
    due_at = forms.DateTimeField(required=False, error_messages={"invalid": _("Use a valid due date.")})
    patient = forms.CharField(max_length=32, required=False)
    assignee = forms.CharField(max_length=40, required=False)

    def __init__(self, *args, clinic, **kwargs):
        self.clinic = clinic
        super().__init__(*args, **kwargs)

    def clean_due_at(self):
        due_at = self.cleaned_data["due_at"]
        if due_at is not None and timezone.is_naive(due_at):
            due_at = timezone.make_aware(due_at, ZoneInfo(self.clinic.timezone or "UTC"))
        return due_at

    def task_fields(self) -> dict:
        """The form's fields as `task_create` takes them: the patient and assignee references as typed, which it
        looks up through the clinic (one rule for the console and the API)."""
        data = self.cleaned_data
        return {"title": data["title"], "description": data["description"], "due_at": data["due_at"],
                "contact": data["patient"].strip(), "assignee": data["assignee"].strip()}
