"""Console forms of notes."""
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Note


class NoteUploadForm(forms.Form):
    audio = forms.FileField(label=_("Recording"), widget=forms.ClearableFileInput(attrs={"accept": "audio/*"}))
    # The clinic's patient chosen in the search box; the service refuses another clinic's id like an unknown one.
    patient = forms.UUIDField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name (if not a patient of the clinic)"), max_length=200, required=False)
    gender = forms.ChoiceField(label=_("Gender"), choices=[("", "—"), *Note.Gender.choices], required=False)
    external_id = forms.CharField(label=_("External ID"), max_length=120, required=False)


class SectionForm(forms.Form):
    # Without a title the section keeps its own: the console shows titles in the reader's language.
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    content = forms.CharField(label=_("Content"), widget=forms.Textarea(attrs={"rows": 5}), required=False,
                              max_length=100_000)
    # The section's version when the editor loaded it (NoteSection.version): a save from an older copy is refused.
    version = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
