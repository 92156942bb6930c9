"""Error codes of campaigns (reminders, engagement links, tasks, bulk SMS); statuses live at each surface's edge."""
from enum import StrEnum


class CampaignCode(StrEnum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_FOUND = "NOT_FOUND"
    CAMPAIGN_NOT_CANCELLABLE = "CAMPAIGN_NOT_CANCELLABLE"
