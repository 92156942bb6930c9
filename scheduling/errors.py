"""Error codes of scheduling (patients, agenda, bookings, calendar sync); statuses live at each surface's edge."""
from enum import StrEnum

from clinics.errors import DomainError


class SchedulingCode(StrEnum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_FOUND = "NOT_FOUND"
    SLOT_TAKEN = "SLOT_TAKEN"
    APPOINTMENT_NOT_ACTIVE = "APPOINTMENT_NOT_ACTIVE"
    HAS_FUTURE_APPOINTMENTS = "HAS_FUTURE_APPOINTMENTS"
    SERVICE_NOT_OFFERED = "SERVICE_NOT_OFFERED"
    OUTSIDE_WORKING_HOURS = "OUTSIDE_WORKING_HOURS"
    IN_THE_PAST = "IN_THE_PAST"
    TOO_SOON = "TOO_SOON"
    TOO_FAR_AHEAD = "TOO_FAR_AHEAD"
    PATIENT_ERASED = "PATIENT_ERASED"
    PATIENT_NOT_FOUND = "PATIENT_NOT_FOUND"
    NO_MATCHING_SERVICE = "NO_MATCHING_SERVICE"
    PATIENT_HAS_NO_PHONE = "PATIENT_HAS_NO_PHONE"
    NOT_CONNECTED = "NOT_CONNECTED"
    CALENDAR_PROVIDER_ERROR = "CALENDAR_PROVIDER_ERROR"
    CALENDAR_NOT_CONFIGURED = "CALENDAR_NOT_CONFIGURED"
    INVALID_STATE = "INVALID_STATE"
    AUTHORIZATION_REFUSED = "AUTHORIZATION_REFUSED"
    NO_REFRESH_TOKEN = "NO_REFRESH_TOKEN"
    REJECTED = "REJECTED"
    # Why a time is not free, as the phone agent tells a caller (telephony/tools.py).
    CLOSED = "CLOSED"
    OFF_GRID = "OFF_GRID"
    FULLY_BOOKED = "FULLY_BOOKED"
    IMPORT_ALREADY_STARTED = "IMPORT_ALREADY_STARTED"


class Unprocessable(DomainError):
    """The request is understood but the agenda cannot take it: not offered, outside working hours, in the past,
    inside the notice or beyond the horizon."""

    default_code = SchedulingCode.OUTSIDE_WORKING_HOURS
