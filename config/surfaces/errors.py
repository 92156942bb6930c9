"""One error pipeline for every surface: any exception becomes (status, code, message, details), and the
surface that owns the URL prefix turns that into its documented body."""
import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response

from clinics.errors import DomainError, PayloadTooLarge

logger = logging.getLogger(__name__)


# The one table that turns a domain error code into an HTTP status, shared by every JSON surface (a surface may
# override a code in its own `status_overrides`). A code missing here answers 422 and is caught by
# `tests/test_error_codes.py`, which checks every app's `errors.py` enum against this table.
STATUS_BY_CODE = {
    # common
    "NOT_FOUND": 404, "VALIDATION_ERROR": 400, "FORBIDDEN": 403, "CONFLICT": 409, "RATE_LIMIT_EXCEEDED": 429,
    "PAYLOAD_TOO_LARGE": 413, "INVALID_PHONE_NUMBER": 400, "PROVIDER_ERROR": 502, "NOT_CONFIGURED": 503,
    # clinics
    "EMAIL_TAKEN": 400, "ACCOUNT_EXISTS": 409, "ALREADY_MEMBER": 409, "LAST_ADMIN": 409, "SLUG_TAKEN": 409,
    "INVITATION_INVALID": 404, "INVITATION_EMAIL_MISMATCH": 403, "NO_REFRESH_TOKEN": 400,
    "AUTHORIZATION_REFUSED": 400, "INVALID_FILTER": 400, "INVALID_SIGNATURE": 403, "UNAUTHORIZED": 401,
    "WEBHOOK_NOT_CONFIGURED": 503,
    "SECOND_FACTOR_REQUIRED": 401,
    # scheduling
    "SLOT_TAKEN": 409, "APPOINTMENT_NOT_ACTIVE": 409, "HAS_FUTURE_APPOINTMENTS": 409,
    "SERVICE_NOT_OFFERED": 422, "OUTSIDE_WORKING_HOURS": 422, "IN_THE_PAST": 422, "TOO_SOON": 422,
    "TOO_FAR_AHEAD": 422, "PATIENT_ERASED": 409, "PATIENT_NOT_FOUND": 404, "NO_MATCHING_SERVICE": 422,
    "PATIENT_HAS_NO_PHONE": 422, "NOT_CONNECTED": 404, "CALENDAR_PROVIDER_ERROR": 502,
    "CALENDAR_NOT_CONFIGURED": 503, "CLOSED": 422, "OFF_GRID": 422, "FULLY_BOOKED": 409,
    "IMPORT_ALREADY_STARTED": 409,
    # telephony
    "EMPTY_MESSAGE": 400, "SCHEDULED_IN_PAST": 400, "NO_PHONE_NUMBER": 409, "RECORDING_NOT_FOUND": 404,
    "MESSAGE_DELIVERY_FAILED": 502, "AGENT_NOT_FOUND": 404, "AGENT_PAUSED": 409, "CALL_FAILED": 502,
    "AGENT_ID_TAKEN": 409,
    "MEETING_NOT_FOUND": 404, "REFERRAL_NOT_FOUND": 404, "MEETING_NOT_OF_REFERRAL": 409,
    "USER_NOT_IN_REFERRAL": 400, "VIDEO_PROVIDER_ERROR": 502, "REJECTED": 400,
    "UNKNOWN_SERVICE": 422, "AMBIGUOUS_SERVICE": 422,
    # campaigns
    "CAMPAIGN_NOT_CANCELLABLE": 409,
    # notes
    "AUDIO_REQUIRED": 400, "INVALID_AUDIO_FORMAT": 400, "INVALID_EXPORT_FORMAT": 400, "INVALID_METADATA": 400,
    "NOTE_NOT_FOUND": 404, "NOTE_SECTION_NOT_FOUND": 404, "NOTE_NOT_READY": 422, "NOTE_NOT_RETRYABLE": 422,
    "NOTE_CHANGED": 409,
    "INVALID_STATE": 400, "PII_PERMISSION_REQUIRED": 403,
    # knowledge
    "FILE_REQUIRED": 400, "EMPTY_FILE": 400, "UNREADABLE_FILE": 400, "INVALID_UPLOAD": 400,
    "UNSUPPORTED_FILE_TYPE": 415,
    # billing
    "UNKNOWN_PLAN": 400, "UNKNOWN_PRICE": 400, "PLAN_LIMIT_REACHED": 403, "ALREADY_SUBSCRIBED": 409,
    "NO_BILLING_ACCOUNT": 409, "NO_SUBSCRIPTION": 409, "SAME_PLAN": 409, "PAYMENT_PROVIDER_ERROR": 502,
}
UNMAPPED_DOMAIN_STATUS = 422


def status_for(code: str, overrides: dict | None = None) -> int:
    """The HTTP status of a domain error code, on a surface with `overrides`."""
    if overrides and code in overrides:
        return overrides[code]
    return STATUS_BY_CODE.get(code, UNMAPPED_DOMAIN_STATUS)


DEFAULT_CODES = {
    400: "VALIDATION_ERROR", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED", 406: "NOT_ACCEPTABLE", 409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE", 422: "UNPROCESSABLE_ENTITY", 429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
}
STATUS_WORDS = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
    422: "unprocessable_entity", 429: "too_many_requests", 500: "internal_server_error",
}


class Problem:
    """The surface-neutral description of a failed request."""

    def __init__(self, status_code, code, message, details=None, headers=None):
        self.status = status_code
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    @property
    def word(self):
        return STATUS_WORDS.get(self.status, "error")


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            text = _first_message(value)
            return text if key == "non_field_errors" else f"{key}: {text}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def problem_from_exception(exc, overrides: dict | None = None) -> Problem:
    """Describe any exception raised while serving an API request; `overrides` are the surface's own
    code → status choices."""
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(_limit())
    if isinstance(exc, DomainError):
        return Problem(status_for(exc.code, overrides), exc.code, exc.message, _plain(exc.details))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(str(exc) or None)

    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Problem(400, "VALIDATION_ERROR", _first_message(exc.detail), _plain(details))
    if isinstance(exc, exceptions.ParseError):
        return Problem(400, "MALFORMED_REQUEST", _first_message(exc.detail))
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        code = DEFAULT_CODES.get(exc.status_code, "ERROR")
        return Problem(exc.status_code, code, _first_message(exc.detail), {}, headers)
    logger.exception("Unexpected error while serving an API request", exc_info=exc)
    return Problem(500, "INTERNAL_ERROR", _("An unexpected error occurred"))


def _plain(detail):
    if isinstance(detail, dict):
        return {key: _plain(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_plain(value) for value in detail]
    if detail is None or isinstance(detail, (bool, int, float)):
        return detail  # numbers stay numbers (a 413's limit_bytes)
    return str(detail)


def _limit():
    from django.conf import settings

    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: the request's surface writes the body."""
    from . import surface_for_path

    request = context.get("request")
    view = context.get("view")
    if request is not None and getattr(view, "request", None) is not None:
        # Let DRF report 401 with the authenticator's header instead of 403.
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            exc.auth_header = view.get_authenticate_header(request)
    from . import DASHBOARD

    surface = getattr(view, "surface", None) or surface_for_path(request.path if request else "") or DASHBOARD
    return problem_response(surface, problem_from_exception(exc, getattr(surface, "status_overrides", None)))


def problem_response(surface, problem: Problem) -> Response:
    response = Response(surface.error_body(problem), status=problem.status, headers=problem.headers or None)
    response.enveloped = True
    if problem.status == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
