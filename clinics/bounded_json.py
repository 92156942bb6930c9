"""Limits on JSON a client sends (clinic settings, note metadata...): how deep it nests and how big it is, so a
body the database would store forever, or that would take long to walk, is refused at the edge."""
import json

from django.utils.translation import gettext as _

DEFAULT_MAX_DEPTH = 5
DEFAULT_MAX_BYTES = 16 * 1024


def _depth(value, limit: int, level: int = 1) -> int:
    if level > limit:
        return level
    if isinstance(value, dict):
        return max([level] + [_depth(item, limit, level + 1) for item in value.values()])
    if isinstance(value, list):
        return max([level] + [_depth(item, limit, level + 1) for item in value])
    return level - 1 if level > 1 else 0


def json_problem(value, *, max_depth: int = DEFAULT_MAX_DEPTH, max_bytes: int = DEFAULT_MAX_BYTES) -> str | None:
    """Why `value` is refused (a readable sentence), or None when it nests at most `max_depth` levels and
    serialises to at most `max_bytes` bytes."""
    if _depth(value, max_depth) > max_depth:
        return _("Nested more than %(depth)d levels deep.") % {"depth": max_depth}
    try:
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError):
        return _("Not a JSON value.")
    if size > max_bytes:
        return _("Larger than %(size)d bytes.") % {"size": max_bytes}
    return None
