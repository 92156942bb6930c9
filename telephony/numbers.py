"""A clinic's messaging numbers and their verification (issue 12, item 3): the numbers inbound SMS/WhatsApp are
routed by. A number routes only once VERIFIED, and a verified number belongs to one clinic.

Verification: the messaging provider's account holds the number (the backend's `owns_number`, e.g. Twilio's
IncomingPhoneNumbers), or a six-digit code is sent to the number (through the outbox, so the local backend works
offline) and typed back within 15 minutes, five attempts at most. `seed_demo` marks the demo's own number.
"""
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.audit import record
from clinics.errors import CommonCode, Conflict, InvalidInput, NotFound
from clinics.models import hash_secret
from clinics.phones import normalise_clinic_phone, normalise_phone
from config.providers import SMS

from .exceptions import ProviderError
from .models import MessagingNumber
from .services import message_send


class NumberTaken(Conflict):
    """Another clinic has verified this number: its inbound messages are that clinic's."""

    def __init__(self):
        message = _("This number is already verified by another clinic.")
        super().__init__(CommonCode.CONFLICT, message, {"phone": [message]})


def _verified_elsewhere(number: MessagingNumber) -> bool:
    return (MessagingNumber.objects.filter(phone=number.phone, status=MessagingNumber.Status.VERIFIED)
            .exclude(pk=number.pk).exists())


def _mark_verified(number: MessagingNumber, method: str, actor) -> MessagingNumber:
    number.status = MessagingNumber.Status.VERIFIED
    number.verified_by = method
    number.verified_at = timezone.now()
    number.code_digest = ""
    try:
        with transaction.atomic():
            number.save(update_fields=["status", "verified_by", "verified_at", "code_digest"])
            record(actor, "messaging_number.verified", "messaging_number", str(number.id), clinic=number.clinic,
                   phone=number.phone, method=method)
    except IntegrityError:
        # Verified by another clinic between our check and this save: the constraint decides.
        raise NumberTaken()
    return number


def _provider_owns(phone: str) -> bool:
    try:
        return SMS.backend().owns_number(phone)
    except ProviderError:
        # The provider cannot say now: fall back to a code sent to the number.
        return False


def messaging_number_add(*, clinic, phone: str, actor=None) -> MessagingNumber:
    """Add a number to `clinic` and start its verification: verified at once when the messaging provider account
    holds it, else a code is sent to it (`messaging_number_verify`). Raises InvalidPhoneNumber naming `phone`,
    NumberTaken (Conflict) when another clinic verified it."""
    phone = normalise_clinic_phone(clinic, phone, "phone")
    with transaction.atomic():
        number, _created = MessagingNumber.objects.get_or_create(clinic=clinic, phone=phone)
        if number.status == MessagingNumber.Status.VERIFIED:
            return number
        if _verified_elsewhere(number):
            raise NumberTaken()
        record(actor, "messaging_number.added", "messaging_number", str(number.id), clinic=clinic, phone=phone)
    if _provider_owns(phone):
        return _mark_verified(number, MessagingNumber.Method.PROVIDER, actor)
    code = f"{secrets.randbelow(10 ** 6):06d}"
    message_send(clinic=clinic, to=phone, purpose="number_verification", field="phone",
                 body=_("Frontdesk: your verification code is %(code)s") % {"code": code})
    number.code_digest = hash_secret(code)
    number.code_sent_at = timezone.now()
    number.code_attempts = 0
    number.save(update_fields=["code_digest", "code_sent_at", "code_attempts"])
    return number


def messaging_number_verify(*, clinic, number_id, code: str, actor=None) -> MessagingNumber:
    """Check the code sent to the clinic's number and mark it verified. Raises NotFound (another clinic's number),
    InvalidInput naming `code` (wrong, expired, or too many attempts: send a new one), NumberTaken."""
    with transaction.atomic():
        number = MessagingNumber.objects.for_clinic(clinic).select_for_update().filter(pk=number_id).first()
        if number is None:
            raise NotFound(None, _("Number not found."))
        if number.status == MessagingNumber.Status.VERIFIED:
            return number
        expired = (number.code_sent_at is None or not number.code_digest
                   or (timezone.now() - number.code_sent_at).total_seconds() > MessagingNumber.CODE_LIFETIME_SECONDS
                   or number.code_attempts >= MessagingNumber.CODE_MAX_ATTEMPTS)
        if expired:
            raise InvalidInput.on("code", _("This code has expired. Ask for a new one."))
        matches = secrets.compare_digest(number.code_digest, hash_secret(str(code or "").strip()))
        if not matches:
            # Counted even though the use case is refused: the attempts are what stops guessing.
            number.code_attempts += 1
            number.save(update_fields=["code_attempts"])
    if not matches:
        raise InvalidInput.on("code", _("That code is not valid."))
    if _verified_elsewhere(number):
        raise NumberTaken()
    return _mark_verified(number, MessagingNumber.Method.CODE, actor)


def messaging_number_seed(*, clinic, phone: str) -> MessagingNumber:
    """The demo clinic's own number, verified without a provider (`seed_demo` only)."""
    number, _created = MessagingNumber.objects.get_or_create(clinic=clinic, phone=normalise_phone(phone))
    if number.status != MessagingNumber.Status.VERIFIED and not _verified_elsewhere(number):
        _mark_verified(number, MessagingNumber.Method.SEED, None)
    return number
