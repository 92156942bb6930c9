"""Error codes of campaigns (reminders, engagement links, tasks, bulk SMS); statuses live at each surface's edge."""
from enum import StrEnum


class CampaignCode(StrEnum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_FOUND = "NOT_FOUND"
    CAMPAIGN_NOT_CANCELLABLE = "CAMPAIGN_NOT_CANCELLABLE"
    # Triage links: the appointment must be ahead and its patient reachable by SMS.
    APPOINTMENT_NOT_ACTIVE = "APPOINTMENT_NOT_ACTIVE"
    PATIENT_HAS_NO_PHONE = "PATIENT_HAS_NO_PHONE"
    EMPTY_MESSAGE = "EMPTY_MESSAGE"
