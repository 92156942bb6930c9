"""Console forms of notes."""
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Note


class NoteUploadForm(forms.Form):
    audio = forms.FileField(label=_("Recording"), widget=forms.ClearableFileInput(attrs={"accept": "audio/*"}))
    name = forms.CharField(label=_("Patient name"), max_length=200, required=False)
    gender = forms.ChoiceField(label=_("Gender"), choices=[("", "—"), *Note.Gender.choices], required=False)
    external_id = forms.CharField(label=_("External ID"), max_length=120, required=False)


class SectionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    content = forms.CharField(label=_("Content"), widget=forms.Textarea(attrs={"rows": 5}), required=False,
                              max_length=100_000)
