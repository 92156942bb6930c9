"""Django admin of rows about a patient (tasks, triage answers, feedback, referrals): who the patient is, masked
for support viewers (clinics/admin_pii.py), and a search that finds rows by their patient without decrypting
anything, through the same keyed hashes as the patients' own search (`scheduling.patients.search_terms`)."""
import uuid

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinics.admin_pii import shown
from clinics.admin_scoping import supported_clinic_ids
from clinics.masking import mask_name
from clinics.models import Clinic

from .models import Patient
from .patients import search_terms


def search_clinic(request):
    """The clinic a phone without its country code is read in: the support user's clinic when they support
    exactly one, else none (superusers and support staff of several clinics type the country code)."""
    if request.user.is_superuser:
        return None
    supported = supported_clinic_ids(request.user)
    return Clinic.objects.filter(pk=supported[0]).first() if len(supported) == 1 else None


def by_patient(request, queryset, term: str, path: str = "patient"):
    """`queryset` narrowed to the rows whose patient (reached along `path`) has a name word starting with each
    word of `term`, the phone `term` or the hash `term`, or to the row whose id `term` is."""
    term = (term or "").strip()[:200]
    if not term:
        return queryset
    matching = Patient.objects.filter(search_terms(term, search_clinic(request))).values("pk")
    condition = Q(**{f"{path}__hash": term}) | Q(**{f"{path}__in": matching})
    try:
        condition |= Q(pk=uuid.UUID(term))
    except ValueError:
        pass
    return queryset.filter(condition)


class AboutPatient:
    """Mix into a PiiAdmin of rows about a patient reached along `patient_path`: `patient_hash` (what support
    staff open the patient by) and `patient_name` (masked for viewers) to list or show, and the search box finds
    rows by their patient. Keep the path in `list_select_related`."""

    patient_path = "patient"
    search_fields = ("id",)  # shows the box; get_search_results does the search
    search_help_text = _("Name words (or their beginnings), a full phone number or a patient's hash, or a row's "
                         "id. Searched through keyed hashes: nothing is decrypted.")

    def _patient(self, obj):
        for part in self.patient_path.split("__"):
            obj = getattr(obj, part, None) if obj is not None else None
        return obj

    @admin.display(description=_("patient"))
    def patient_hash(self, obj):
        patient = self._patient(obj)
        return patient.hash if patient is not None else ""

    @admin.display(description=_("patient's name"))
    def patient_name(self, obj):
        patient = self._patient(obj)
        return shown(obj, patient.name, mask_name) if patient is not None else ""

    def get_search_results(self, request, queryset, search_term):
        return by_patient(request, queryset, search_term, self.patient_path), False
