"""Error codes of the knowledge base; statuses live at each surface's edge (config/surfaces/errors.py)."""
from enum import StrEnum


class KnowledgeCode(StrEnum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_FOUND = "NOT_FOUND"
    AGENT_NOT_FOUND = "AGENT_NOT_FOUND"
    FILE_REQUIRED = "FILE_REQUIRED"
    EMPTY_FILE = "EMPTY_FILE"
    UNREADABLE_FILE = "UNREADABLE_FILE"
    INVALID_UPLOAD = "INVALID_UPLOAD"
    UNSUPPORTED_FILE_TYPE = "UNSUPPORTED_FILE_TYPE"
    PLAN_LIMIT_REACHED = "PLAN_LIMIT_REACHED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
