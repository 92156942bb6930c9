"""One error pipeline for every surface: any exception becomes (status, code, message, details), and the
surface that owns the URL prefix turns that into its documented body."""
import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """A domain error with a stable machine code, e.g. ApiError(409, "SLOT_TAKEN", "...")."""

    def __init__(self, status_code: int, code: str, message: str, details: dict | None = None):
        self.status_code = status_code
        self.code = code
        self.details = details or {}
        super().__init__(detail=message, code=code)


class PayloadTooLarge(ApiError):
    def __init__(self, limit: int, received: int | None = None):
        details = {"limit_bytes": limit}
        if received is not None:
            details["received_bytes"] = received
        super().__init__(413, "PAYLOAD_TOO_LARGE", _("Payload too large"), details)


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


def problem_from_exception(exc) -> Problem:
    """Describe any exception raised while serving an API request."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(_limit())
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(str(exc) or None)

    if isinstance(exc, ApiError):
        return Problem(exc.status_code, exc.code, str(exc.detail), exc.details)
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
    return problem_response(surface, problem_from_exception(exc))


def problem_response(surface, problem: Problem) -> Response:
    response = Response(surface.error_body(problem), status=problem.status, headers=problem.headers or None)
    response.enveloped = True
    if problem.status == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
