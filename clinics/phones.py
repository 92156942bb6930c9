"""Phone numbers in E.164, the one form Frontdesk stores and sends."""
import phonenumbers
from django.utils.translation import gettext as _

from .errors import CommonCode, InvalidInput

# The clinic's locale tells which country a number written without "+" belongs to.
LOCALE_REGIONS = {"pt-pt": "PT", "pt": "PT", "pt-br": "BR", "fr": "FR", "en": "GB"}


class InvalidPhoneNumber(InvalidInput):
    """Not a valid phone number; `details` names the field it came from."""

    default_code = CommonCode.INVALID_PHONE_NUMBER

    def __init__(self, raw: str, field: str = "phone_number"):
        self.raw = raw
        message = _("Not a valid phone number: %(number)s") % {"number": raw or "''"}
        super().__init__(None, message, {field: [message]})


def clinic_region(clinic) -> str | None:
    """The country of the clinic's own phone, else of its locale: the default for local numbers."""
    if clinic is not None and clinic.phone:
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(clinic.phone, None))
            if region and region != "ZZ":
                return region
        except phonenumbers.NumberParseException:
            pass
    if clinic is not None:
        return LOCALE_REGIONS.get((clinic.locale or "").lower())
    return None


def normalise_phone(raw: str, default_region: str | None = None) -> str:
    """Return `raw` as E.164 (`+351912345678`); raise InvalidPhoneNumber when it is not a valid number."""
    text = (raw or "").strip()
    if text.lower().startswith("whatsapp:"):
        text = text.split(":", 1)[1]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(raw)
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_clinic_phone(clinic, raw: str, field: str = "phone") -> str:
    """E.164 of `raw` read in the clinic's country; InvalidPhoneNumber names `field`."""
    try:
        return normalise_phone(raw, clinic_region(clinic))
    except InvalidPhoneNumber:
        raise InvalidPhoneNumber(raw, field=field)


def is_e164(value: str) -> bool:
    try:
        return normalise_phone(value) == value
    except InvalidPhoneNumber:
        return False
