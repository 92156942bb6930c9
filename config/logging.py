"""Structured log lines: one JSON object per line with the time, level, logger, message and the request id (and
the Celery task, in a worker), so the lines of one request, and of the tasks it queued, can be found together."""
import json
import logging
from datetime import datetime, timezone

from config import request_id


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (a record logged with `extra={"request_id": ...}` keeps its own)."""

    def filter(self, record):
        if not getattr(record, "request_id", None):
            record.request_id = request_id.current()
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
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
