"""Patients under the RGPD: find them without decrypting the table, show only what the caller may see, export
everything held about one of them, and erase one of them. Every read of personal data leaves an audit row.

Search goes through the blind indexes `Patient.refresh_indexes()` writes: each normalised name token and the
E.164 phone, hashed with `clinics.crypto.blind_index`. A query hashes its terms the same way.
"""
import re

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.crypto import blind_index, name_tokens
from clinics.phones import InvalidPhoneNumber, clinic_region, normalise_clinic_phone, normalise_phone
from config.surfaces.errors import ApiError

from . import signals
from .models import Appointment, Patient

# Roles of a member allowed to read decrypted personal data. API keys and OAuth tokens are integrations acting
# for the clinic: their `read` scope is what the clinic granted them.
PII_ROLES = frozenset({"admin", "editor"})
DEFAULT_PURPOSE = "patient care"
ERASED_TAG = "erased"
_NAME_PARTICLES = frozenset({"da", "de", "do", "das", "dos", "e", "di", "du", "del", "van", "von", "le", "la"})


# --- who may see what -------------------------------------------------------------------------------------------

def can_read_pii(credential) -> bool:
    """True when the caller may see decrypted personal fields: a member by role, a key or token by scope."""
    if credential is None:
        return False
    if credential.membership is not None:
        return credential.membership.role in PII_ROLES and credential.can("read")
    return credential.can("read")


def mask_name(name: str) -> str:
    """'Maria da Silva' -> 'M. S.': initials of the words that are not particles."""
    words = [word for word in (name or "").split() if word]
    kept = [word for word in words if word.lower() not in _NAME_PARTICLES] or words
    return " ".join(f"{word[0].upper()}." for word in kept)


def mask_phone(phone: str) -> str:
    """'+351912345678' -> '+351 9•• ••• •78': the country code, the first and the last two digits."""
    if not phone:
        return ""
    try:
        import phonenumbers

        number = phonenumbers.parse(phone, None)
        country, national = f"+{number.country_code}", str(number.national_number)
    except Exception:  # noqa: BLE001 — a stored number that no longer parses is still masked
        country, national = "", re.sub(r"\D", "", phone)
    if len(national) <= 3:
        return f"{country} {'•' * len(national)}".strip()
    hidden = national[0] + "•" * (len(national) - 3) + national[-2:]
    groups = [hidden[i:i + 3] for i in range(0, len(hidden), 3)]
    return f"{country} {' '.join(groups)}".strip()


def mask_email(email: str) -> str:
    """'maria@example.pt' -> 'm•••@example.pt'."""
    if not email or "@" not in email:
        return "•••" if email else ""
    local, domain = email.split("@", 1)
    return f"{local[:1]}•••@{domain}"


# --- audit --------------------------------------------------------------------------------------------------------

def _audit(source, action, patient=None, purpose="", *, clinic=None, **extra):
    """One audit row for an access to or a change of a patient's personal data."""
    from clinics.audit import record

    return record(source, action, "patient" if patient is not None or "hashes" in extra else "",
                  patient.hash if patient is not None else "", purpose or DEFAULT_PURPOSE,
                  clinic=clinic or (patient.clinic if patient is not None else None), **extra)


def purpose_of(request) -> str:
    """The purpose the caller declares (`X-Purpose` header or `?purpose=`), else routine care."""
    declared = request.headers.get("X-Purpose") or request.query_params.get("purpose") or ""
    return declared.strip()[:200] or DEFAULT_PURPOSE


# --- selectors ----------------------------------------------------------------------------------------------------

def search_terms(query: str, clinic=None):
    """A Q that matches patients whose name holds every token of `query`, or whose phone equals it.

    Nothing is decrypted: the tokens and the phone are hashed as the indexes were.
    """
    query = (query or "").strip()
    if not query:
        return Q()
    condition = Q(pk__in=[])
    tokens = name_tokens(query)
    if tokens:
        condition |= Q(name_index__contains=[blind_index(token, "name") for token in tokens])
    digits = re.sub(r"[\s().-]", "", query)
    if re.fullmatch(r"\+?\d{6,15}", digits):
        try:
            condition |= Q(phone_index=blind_index(normalise_phone(digits, clinic_region(clinic)), "phone"))
        except InvalidPhoneNumber:
            pass
    return condition


def patients_for(clinic, search: str = ""):
    """The clinic's patients, narrowed by `search` (name tokens or full phone), with `has_appointments`."""
    queryset = Patient.objects.filter(clinic=clinic)
    if search:
        queryset = queryset.filter(search_terms(search, clinic))
    return queryset.annotate(has_appointments=Exists(Appointment.objects.filter(patient=OuterRef("pk"))))


def find_by_phone(clinic, e164: str):
    """The clinic's patient with this E.164 phone, or None."""
    if not e164:
        return None
    return Patient.objects.filter(clinic=clinic, phone_index=blind_index(e164, "phone")).first()


# --- services -----------------------------------------------------------------------------------------------------

def normalise_patient_phone(clinic, raw: str, field: str = "phone") -> str:
    """E.164 of `raw` in the clinic's country; raises InvalidPhoneNumber naming `field`."""
    return normalise_clinic_phone(clinic, raw, field)


def find_or_create_patient(clinic, *, phone: str, name: str = "", email: str = "", tags=None,
                           source=None) -> tuple[Patient, bool]:
    """The patient with this phone (deduplicated by its blind index), or a new one; returns (patient, created).

    A concurrent creation of the same phone loses to the unique constraint and returns the winner's row.
    """
    e164 = normalise_patient_phone(clinic, phone)
    existing = find_by_phone(clinic, e164)
    if existing is not None:
        return existing, False
    patient = Patient(clinic=clinic, name=(name or "").strip(), phone=e164, email=(email or "").strip(),
                      tags=list(tags or []))
    patient.refresh_indexes()
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError:
        winner = find_by_phone(clinic, e164)
        if winner is None:
            raise
        return winner, False
    _audit(source, "patient.created", patient, "contact registration")
    return patient, True


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
    emptied and appointment notes wiped; every app holding more (messages, calls, engagement, consultation
    notes) wipes its part through the `patient_erased` signal, in this transaction. Idempotent.
    """
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    phone_index = patient.phone_index
    patient.name = patient.phone = patient.email = patient.owner_name = ""
    patient.birth_date = None
    patient.gender = patient.species = patient.external_id = ""
    patient.consents = {}
    patient.tags = [ERASED_TAG]
    patient.refresh_indexes()
    patient.save()
    patient.appointments.update(notes="")
    counts = {}
    signals.patient_erased.send(sender=Patient, patient=patient, phone_index=phone_index, counts=counts)
    _audit(source, "patient.erased", patient, purpose, **counts)
    return patient


def get_patient_or_404(clinic, patient_hash: str) -> Patient:
    patient = Patient.objects.filter(clinic=clinic, hash=patient_hash).first()
    if patient is None:
        raise ApiError(404, "NOT_FOUND", _("Patient not found."))
    return patient


def patient_merge_details(*, patient: Patient, name: str = "", email: str = "", tags=(), actor=None) -> list[str]:
    """Merge newer contact details into a patient: a given name or e-mail replaces the stored one, given tags are
    added to the stored ones. Audited when something changed; returns the changed fields."""
    name, email = (name or "").strip(), (email or "").strip()
    changed = []
    if name and name != patient.name:
        patient.name = name
        patient.refresh_indexes()
        changed += ["name", "name_index"]
    if email and email != patient.email:
        patient.email = email
        changed.append("email")
    merged = list(patient.tags or []) + [tag for tag in tags or () if tag not in (patient.tags or [])]
    if merged != list(patient.tags or []):
        patient.tags = merged
        changed.append("tags")
    if changed:
        patient.save(update_fields=changed)
        _audit(actor, "patient.updated", patient, "contact registration", fields=changed)
    return changed
