"""Patients under the RGPD: find them without decrypting the table, show only what the caller may see, export
everything held about one of them, and erase one of them. Every read of personal data leaves an audit row.

Search goes through the blind indexes `Patient.refresh_indexes()` writes: each normalised name token, every
prefix of it (2 letters and up), and the E.164 phone, hashed with `clinics.crypto.blind_index`. A query hashes
its terms the same way.
"""
import re

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from clinics import masking
from clinics.audit import record
from clinics.crypto import blind_index, name_tokens
from clinics.phones import InvalidPhoneNumber, clinic_region, normalise_clinic_phone, normalise_phone

from . import signals
from .models import Appointment, Patient

DEFAULT_PURPOSE = "patient care"
ERASED_TAG = "erased"


# --- who may see what -------------------------------------------------------------------------------------------

# The masks of every surface (clinics/masking.py; the Django admin, below scheduling, uses them too).
mask_name, mask_phone, mask_email = masking.mask_name, masking.mask_phone, masking.mask_email


def can_read_pii(credential) -> bool:
    """True when the caller may see decrypted personal fields (`Credential.reads_pii`, the one rule of every
    surface); no credential sees nothing."""
    return credential is not None and credential.reads_pii


# --- audit --------------------------------------------------------------------------------------------------------

def _audit(source, action, patient=None, purpose="", *, clinic=None, **extra):
    """One audit row for an access to or a change of a patient's personal data."""
    return record(source, action, "patient" if patient is not None or "hashes" in extra else "",
                  patient.hash if patient is not None else "", purpose or DEFAULT_PURPOSE,
                  clinic=clinic or (patient.clinic if patient is not None else None), **extra)


def purpose_of(request) -> str:
    """The purpose the caller declares (`X-Purpose` header or `?purpose=`), else routine care."""
    declared = request.headers.get("X-Purpose") or request.query_params.get("purpose") or ""
    return declared.strip()[:200] or DEFAULT_PURPOSE


# --- selectors ----------------------------------------------------------------------------------------------------

def search_terms(query: str, clinic=None):
    """A Q that matches patients whose name has a word starting with each token of `query` ("Mar Sil" finds
    "Maria da Silva"; a whole word is its own prefix), or whose phone equals it.

    Nothing is decrypted: the tokens and the phone are hashed as the indexes were.
    """
    query = (query or "").strip()[:200]
    if not query:
        return Q()
    condition = Q(pk__in=[])
    tokens = name_tokens(query)[:10]
    if tokens:
        condition |= Q(name_prefix_index__contains=[blind_index(token, "name-prefix") for token in tokens])
    digits = re.sub(r"[\s().-]", "", query)
    if re.fullmatch(r"\+?\d{6,15}", digits):
        try:
            condition |= Q(phone_index=blind_index(normalise_phone(digits, clinic_region(clinic)), "phone"))
        except InvalidPhoneNumber:
            pass
    return condition


def patients_for(clinic, search: str = ""):
    """The clinic's patients, narrowed by `search` (name tokens or full phone), with `has_appointments`."""
    queryset = Patient.objects.for_clinic(clinic)
    if search:
        queryset = queryset.filter(search_terms(search, clinic))
    return queryset.annotate(has_appointments=Exists(Appointment.objects.filter(patient=OuterRef("pk"))))


def patients_with_phone(*, clinic, phone: str) -> list[Patient]:
    """The clinic's patients with this phone (several when a family shares it), oldest first, at most 20; [] for
    a number that does not read as a phone."""
    try:
        e164 = normalise_patient_phone(clinic, phone)
    except InvalidPhoneNumber:
        return []
    return list(Patient.objects.for_clinic(clinic).filter(phone_index=blind_index(e164, "phone"))
                .order_by("created_at", "id")[:20])


# --- services -----------------------------------------------------------------------------------------------------

def normalise_patient_phone(clinic, raw: str, field: str = "phone") -> str:
    """E.164 of `raw` in the clinic's country; raises InvalidPhoneNumber naming `field`."""
    return normalise_clinic_phone(clinic, raw, field)


def export_patient(patient: Patient, source=None, purpose: str = "data subject access request") -> dict:
    """Everything Frontdesk holds about one patient, as JSON-ready data; leaves an audit row.

    Scheduling writes the patient and their appointments; every app that holds more about the patient adds its
    part through the `patient_exported` signal (`scheduling/signals.py`).
    """
    appointments = list(patient.appointments.select_related("professional", "service").order_by("starts_at"))
    data = {
        "exportedAt": timezone.now().isoformat(),
        "clinic": {"id": str(patient.clinic_id), "name": patient.clinic.name},
        "patient": {
            "hash": patient.hash, "name": patient.name, "phone": patient.phone, "email": patient.email,
            "birthDate": patient.birth_date.isoformat() if patient.birth_date else None,
            "gender": patient.gender, "species": patient.species, "ownerName": patient.owner_name,
            "tags": patient.tags,
            "consents": patient.consents, "externalId": patient.external_id,
            "createdAt": patient.created_at.isoformat(),
        },
        "appointments": [{
            "id": str(appointment.id), "startsAt": appointment.starts_at.isoformat(),
            "endsAt": appointment.ends_at.isoformat(), "status": appointment.status, "source": appointment.source,
            "notes": appointment.notes, "professional": appointment.professional.name,
            "service": appointment.service.name,
        } for appointment in appointments],
    }
    signals.patient_exported.send(sender=Patient, patient=patient, data=data)
    _audit(source, "patient.exported", patient, purpose)
    return data


@transaction.atomic
def erase_patient(patient: Patient, source=None, purpose: str = "right to erasure") -> Patient:
    """Destroy the patient's personal data; keep the row, its appointments (anonymised) and the audit log.

    Name, phone, e-mail, birth date, gender, species, external id and consents are cleared, the blind indexes
    emptied and appointment notes wiped; every app holding more (messages, calls, webhook deliveries, engagement,
    consultation notes, also those linked only by the patient's name) wipes its part through the `patient_erased`
    signal, in this transaction, given the patient's `former` name, phone and e-mail to look for. Idempotent.
    """
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    phone_index = patient.phone_index
    # What the patient was called and reached at, for receivers that must find copies held outside the patient's
    # row (a note named after them, a webhook payload, WhatsApp template variables). Never stored.
    former = {"name": patient.name, "phone": patient.phone, "email": patient.email,
              "owner_name": patient.owner_name}
    patient.name = patient.phone = patient.email = patient.owner_name = ""
    patient.birth_date = None
    patient.gender = patient.species = patient.external_id = ""
    patient.consents = {}
    patient.tags = [ERASED_TAG]
    patient.refresh_indexes()
    patient.save()
    patient.appointments.update(notes="")
    counts = {}
    signals.patient_erased.send(sender=Patient, patient=patient, phone_index=phone_index, counts=counts,
                                former=former)
    _audit(source, "patient.erased", patient, purpose, **counts)
    return patient
