"""Structured log lines: one JSON object per line with the time, level, logger, message and the request id (and
the Celery task, in a worker), so the lines of one request, and of the tasks it queued, can be found together.

No personal data in a log line (issue 12, item 15): `PersonalDataFilter` rewrites every record the console handler
writes, whoever logged it (our code, Django's request logs, a provider's error text quoting a number): e-mail
addresses and international phone numbers become placeholders, and so do the values of query parameters that carry
names, phones, e-mails or searches. `scrub_url` applies the same rule to a URL (the console's `next` links).
"""
import json
import logging
import re
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from config import request_id


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (a record logged with `extra={"request_id": ...}` keeps its own)."""

    def filter(self, record):
        if not getattr(record, "request_id", None):
            record.request_id = request_id.current()
        return True


EMAIL = re.compile(r"[\w.+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
# E.164 as written or URL-encoded ("+351 912 345 678", "%2B351912345678", "whatsapp:+351..."): 8 to 15 digits.
PHONE = re.compile(r"(?:\+|%2B)\d(?:[ .-]?\d){6,14}(?!\d)", re.IGNORECASE)
# Query parameters whose value is a person's name, phone, e-mail or a search for one.
PERSONAL_PARAMETERS = frozenset({"q", "search", "query", "name", "patient", "patient_name", "phone", "phone_number",
                                 "email", "e-mail", "owner_name"})
QUERY_PARAMETER = re.compile(r"(?P<lead>[?&])(?P<name>[\w-]+)=(?P<value>[^&\s\"'#]*)")
REDACTED = "[redacted]"


def _redact_parameter(match):
    if match.group("name").lower() in PERSONAL_PARAMETERS and match.group("value"):
        return f"{match.group('lead')}{match.group('name')}={REDACTED}"
    return match.group(0)


def scrub(text: str) -> str:
    """`text` without e-mail addresses, international phone numbers and personal query-parameter values."""
    if not text:
        return text
    text = QUERY_PARAMETER.sub(_redact_parameter, text)
    text = EMAIL.sub("[email]", text)
    return PHONE.sub("[phone]", text)


def scrub_url(url: str) -> str:
    """`url` without the query parameters that carry personal data (see PERSONAL_PARAMETERS): a link that travels
    (a `next` parameter, a redirect) keeps its path and harmless filters, never a name, phone or e-mail."""
    parts = urlsplit(url or "")
    if not parts.query:
        return url
    kept = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True)
            if name.lower() not in PERSONAL_PARAMETERS and scrub(value) == value]
    return urlunsplit(parts._replace(query=urlencode(kept)))


class PersonalDataFilter(logging.Filter):
    """Scrubs the message, and the traceback of an exception, of every record it passes (see `scrub`)."""

    _formatter = logging.Formatter()

    def filter(self, record):
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not getattr(record, "exc_text_scrubbed", False):
            record.exc_text = scrub(self._formatter.formatException(record.exc_info))
            record.exc_text_scrubbed = True
        return True


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id", ...}`; task name and id when a task logged it."""

    EXTRA = ("request_id", "task_name", "task_id")

    def format(self, record):
        line = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in self.EXTRA:
            value = getattr(record, key, None)
            if value:
                line[key] = value
        if record.exc_text:
            line["exc"] = record.exc_text  # already scrubbed by PersonalDataFilter
        elif record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
