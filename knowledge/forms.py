"""Console forms of the knowledge base."""
from django import forms
from django.utils.translation import gettext_lazy as _

from .services import MAX_CHUNK_CHARS


class ChunkForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    content = forms.CharField(label=_("Text"), max_length=MAX_CHUNK_CHARS, widget=forms.Textarea(attrs={"rows": 5}))


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Document"), help_text=_("PDF, DOCX, TXT, CSV, JSON or XLSX; 10 MB at most."))


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Ask a question"), max_length=1000, required=False)
