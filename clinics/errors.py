"""Domain errors: what a use case refuses, with a stable machine code and no HTTP.

Services raise `DomainError` (or one of the small subclasses below) with a code from their app's `errors.py`
enum. Each surface maps a code to its status and body in one table at its edge
(`config/surfaces/errors.py` `STATUS_BY_CODE`); the console maps the same error to a form error or a message.
"""
from enum import StrEnum

from django.utils.translation import gettext as _


class CommonCode(StrEnum):
    """Codes any app may raise."""

    NOT_FOUND = "NOT_FOUND"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMIT_EXCEEDED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    INVALID_PHONE_NUMBER = "INVALID_PHONE_NUMBER"
    PROVIDER_ERROR = "PROVIDER_ERROR"
    NOT_CONFIGURED = "NOT_CONFIGURED"


class DomainError(Exception):
    """A refused use case: `code` (an app's enum member or its string), a readable `message`, and `details`
    (for field errors, `{field: [message, ...]}`)."""

    default_code: str = CommonCode.VALIDATION_ERROR

    def __init__(self, code=None, message: str = "", details: dict | None = None):
        self.code = str(code or self.default_code)
        self.message = str(message or self.code)
        self.details = details or {}
        super().__init__(self.message)

    def __repr__(self):
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class NotFound(DomainError):
    """The object does not exist for this clinic (another clinic's object is the same as none)."""

    default_code = CommonCode.NOT_FOUND


class InvalidInput(DomainError):
    """The request is well-formed but a value is not acceptable; `details` names the fields."""

    default_code = CommonCode.VALIDATION_ERROR

    @classmethod
    def on(cls, field: str, message: str, code=None):
        """The error of one field: `InvalidInput.on("startsAt", _("..."))`."""
        return cls(code, message, {field: [message]})


class Conflict(DomainError):
    """The request contradicts the current state (a taken slot, an existing account...)."""

    default_code = CommonCode.CONFLICT


class Forbidden(DomainError):
    """The caller may not do this, whatever the object."""

    default_code = CommonCode.FORBIDDEN


class ProviderUnavailable(DomainError):
    """An external provider refused or could not be reached."""

    default_code = CommonCode.PROVIDER_ERROR


class PayloadTooLarge(DomainError):
    """An upload over its limit, refused before (or while) its body is read."""

    default_code = CommonCode.PAYLOAD_TOO_LARGE

    def __init__(self, limit: int, received: int | None = None, message: str = ""):
        details = {"limit_bytes": limit}
        if received is not None:
            details["received_bytes"] = received
        super().__init__(None, message or _("Payload too large"), details)


class RateLimited(DomainError):
    """Too many attempts; `retry_after` says in how many seconds the caller may try again."""

    default_code = CommonCode.RATE_LIMITED

    def __init__(self, message: str = "", retry_after: int | None = None):
        self.retry_after = retry_after
        super().__init__(None, message, {"retry_after": retry_after} if retry_after else None)


class NotAuthenticated(DomainError):
    """A credential (password, token, key) that is wrong, expired or revoked."""

    default_code = "UNAUTHORIZED"


class ClinicCode(StrEnum):
    """Codes of the clinics app: accounts, memberships, invitations, credentials."""

    EMAIL_TAKEN = "EMAIL_TAKEN"
    ACCOUNT_EXISTS = "ACCOUNT_EXISTS"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    LAST_ADMIN = "LAST_ADMIN"
    SLUG_TAKEN = "SLUG_TAKEN"
    INVITATION_INVALID = "INVITATION_INVALID"
    INVITATION_EMAIL_MISMATCH = "INVITATION_EMAIL_MISMATCH"
    NO_REFRESH_TOKEN = "NO_REFRESH_TOKEN"
    AUTHORIZATION_REFUSED = "AUTHORIZATION_REFUSED"
    INVALID_FILTER = "INVALID_FILTER"
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    WEBHOOK_NOT_CONFIGURED = "WEBHOOK_NOT_CONFIGURED"
    UNAUTHORIZED = "UNAUTHORIZED"
    SECOND_FACTOR_REQUIRED = "SECOND_FACTOR_REQUIRED"

