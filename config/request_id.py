"""The request id: one id per HTTP request, carried by every log line the request writes and by the Celery tasks it
queues, so a failing task's log line names the request that queued it.

A client may send `X-Request-ID` (a proxy's or its own); a sane one (1-64 letters, digits, `-`, `_`, `.`, `:`) is
kept, anything else is replaced by a new random id. The response always carries the id in `X-Request-ID`.
"""
import contextvars
import re
import uuid
from contextlib import contextmanager

from celery.signals import before_task_publish, task_postrun, task_prerun

HEADER = "X-Request-ID"
# The Celery message header that carries the id from the request to the task.
TASK_HEADER = "request_id"
SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

_current = contextvars.ContextVar("request_id", default="")


def current() -> str:
    """The id of the request (or task) being served here; "" outside of one."""
    return _current.get()


def sane(value) -> str:
    """`value` when it is an acceptable request id, else ""."""
    value = value if isinstance(value, str) else ""
    return value if SANE.match(value) else ""


def new() -> str:
    return uuid.uuid4().hex


@contextmanager
def bind(request_id: str):
    """Serve what runs inside with this request id."""
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)


class RequestIdMiddleware:
    """Accepts a sane `X-Request-ID` or makes one, binds it for the request's log lines and tasks, returns it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = sane(request.headers.get(HEADER)) or new()
        request.request_id = request_id
        with bind(request_id):
            response = self.get_response(request)
        response[HEADER] = request_id
        return response


@before_task_publish.connect(dispatch_uid="request_id.publish")
def _stamp_task(headers=None, **kwargs):
    """A task queued while serving a request carries the request's id in its message headers."""
    if headers is not None and current() and TASK_HEADER not in headers:
        headers[TASK_HEADER] = current()


def task_request_id(task) -> str:
    """The id of the request that queued `task` (a worker reads the message header; a task run in-process, eager,
    still runs inside the request)."""
    request = getattr(task, "request", None)
    stamped = getattr(request, TASK_HEADER, None) or (getattr(request, "headers", None) or {}).get(TASK_HEADER)
    return sane(stamped) or current()


_task_tokens: dict = {}


@task_prerun.connect(dispatch_uid="request_id.prerun")
def _bind_task(task_id=None, task=None, **kwargs):
    _task_tokens[task_id] = _current.set(task_request_id(task))


@task_postrun.connect(dispatch_uid="request_id.postrun")
def _unbind_task(task_id=None, **kwargs):
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            _current.reset(token)
        except ValueError:  # set in another context (a worker thread pool); leave it
            pass
