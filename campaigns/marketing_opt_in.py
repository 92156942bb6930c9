"""Double opt-in of the marketing consent given on the public booking page (docs/api/public.md, Marketing consent).

Anyone can type anyone's phone on a public page, so that consent is kept pending (`scheduling.services
.PENDING_CONSENT_KINDS`) and the phone's owner gets one SMS with a link to confirm or decline it. The link
carries a token signed with a timestamp by `django.core.signing` (salt `MARKETING_OPT_IN_SALT`) naming the patient
(their id, the clinic being theirs) and which request it answers (a digest of when the consent was asked), never
patient data: about 80 characters, so the SMS stays short (every segment is billed). It expires after
`MARKETING_OPT_IN_MAX_AGE` seconds (default 30 days). The token is the credential: a forged or altered one answers
404, an expired one 410, one for a request since answered or superseded says so.
"""
import base64
import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from clinics.models import Clinic
from scheduling.models import Patient
from scheduling.services import pending_consent_key, patient_consent_confirm
from telephony.services import message_enqueue

logger = logging.getLogger(__name__)

MARKETING_OPT_IN_SALT = "campaigns.marketing_opt_in"
KIND = "marketing"
PURPOSE = "marketing_opt_in"


def _max_age() -> int:
    return settings.MARKETING_OPT_IN_MAX_AGE


def _signer():
    return signing.TimestampSigner(salt=MARKETING_OPT_IN_SALT)


def _request_digest(asked_at: str) -> str:
    return hashlib.sha256(asked_at.encode()).hexdigest()[:12]


def opt_in_token(patient, asked_at: str) -> str:
    """The link's token for `patient`'s marketing consent asked at `asked_at` (the pending value)."""
    patient_id = base64.urlsafe_b64encode(uuid.UUID(str(patient.pk)).bytes).rstrip(b"=").decode()
    return _signer().sign(f"{patient_id}.{_request_digest(asked_at)}")


def opt_in_url(token: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{reverse('public-marketing-consent', args=[token])}"


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


@dataclass(frozen=True)
class OptInRequest:
    """What a valid token names: the clinic, the patient's id and when the consent was asked."""

    clinic: Clinic
    patient_id: uuid.UUID
    asked_at: str


def opt_in_request_of(token: str) -> OptInRequest:
    """The request a token names; TokenExpired past its age, TokenInvalid when forged, altered or naming no patient.
    The clinic is the patient's own. When the patient's pending request is no longer the one the token was made
    for (answered, superseded), `asked_at` matches nothing, so answering it changes nothing."""
    try:
        value = _signer().unsign(token, max_age=_max_age())
    except signing.SignatureExpired:
        raise TokenExpired()
    except signing.BadSignature:
        raise TokenInvalid()
    try:
        encoded, digest = value.split(".")
        patient_id = uuid.UUID(bytes=base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (TypeError, ValueError):
        raise TokenInvalid()
    # By id alone, on purpose: the signed token is the credential and names one patient, whose clinic answers.
    patient = Patient.objects.select_related("clinic").filter(pk=patient_id).first()
    if patient is None:
        raise TokenInvalid()
    pending = str((patient.consents or {}).get(pending_consent_key(KIND)) or "")
    current = bool(pending) and hmac.compare_digest(_request_digest(pending), digest)
    return OptInRequest(clinic=patient.clinic, patient_id=patient.pk,
                        asked_at=pending if current else f"no longer pending: {digest}")


def opt_in_answer(*, request: OptInRequest, accepted: bool, actor=None) -> str:
    """The patient's answer through the link: the marketing consent confirmed or declined (audited by
    `patient_consent_confirm`, whose CONSENT_* outcome is returned). Another clinic's patient is PATIENT_NOT_FOUND."""
    return patient_consent_confirm(clinic=request.clinic, patient_id=request.patient_id, kind=KIND,
                                   asked_at=request.asked_at, accepted=accepted, actor=actor)


def opt_in_text(clinic, url: str) -> str:
    return _("%(clinic)s: please confirm that you want to receive our news and offers by SMS: %(url)s "
             "If you did not ask for them, ignore this message.") % {"clinic": clinic.name, "url": url}


def opt_in_request_send(*, appointment) -> None:
    """Text the patient of a booking that left the marketing consent pending one link to confirm it, through the
    outbox (`message_enqueue`). Sent after the booking committed, at once like the booking confirmation (the
    patient has just asked); a patient who refused SMS gets nothing, and a failure to text never undoes the
    booking (the outbox shows what was not sent)."""
    patient, clinic = appointment.patient, appointment.clinic
    asked_at = (patient.consents or {}).get(pending_consent_key(KIND))
    if not asked_at or not patient.phone or (patient.consents or {}).get("sms") is False:
        return
    try:
        with transaction.atomic(), translation.override(clinic.locale):
            message_enqueue(clinic=clinic, to=patient.phone, purpose=PURPOSE,
                            body=opt_in_text(clinic, opt_in_url(opt_in_token(patient, asked_at))))
    except Exception:  # noqa: BLE001 - the booking stands; the outbox shows what was not sent
        logger.exception("Marketing opt-in SMS for appointment %s was not queued", appointment.pk)

