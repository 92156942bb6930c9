"""The RGPD audit log's single entry point: every app calls `record()` on writes and on reads of personal data."""
from django.http import HttpRequest

from .credentials import Credential
from .models import AuditEvent, Clinic

_ACTOR_KINDS = {kind.value for kind in AuditEvent.ActorKind}


def _http_request(source):
    """The Django HttpRequest behind a DRF Request, an HttpRequest, or None."""
    if isinstance(source, HttpRequest):
        return source
    inner = getattr(source, "_request", None)
    return inner if isinstance(inner, HttpRequest) else None


def _client_ip(request):
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _actor_label(credential, user):
    if credential is not None:
        if credential.api_key is not None:
            return f"{credential.api_key.name} ({credential.api_key.preview})"
        if credential.membership is not None:
            return credential.membership.user.email
        label = credential.extra.get("label")
        if label:
            return label
    email = getattr(user, "email", "")
    return email or ""


def record(source, action: str, obj_type: str = "", obj_id="", purpose: str = "", **kwargs) -> AuditEvent:
    """Append one audit event and return it; the arguments are `audit_event`'s."""
    event = audit_event(source, action, obj_type, obj_id, purpose, **kwargs)
    event.save(force_insert=True)
    return event


def audit_event(source, action: str, obj_type: str = "", obj_id="", purpose: str = "", *,
                clinic: Clinic | None = None, actor_kind: str | None = None, actor_id: str | None = None,
                actor_label: str | None = None, **extra) -> AuditEvent:
    """The audit event `record` appends, unsaved: a use case that leaves several events writes them in one
    statement (`AuditEvent.objects.bulk_create`, inside its transaction).

    `source` is what acted: a DRF/Django request (its `auth` Credential, user, IP and user agent are read), a
    `Credential`, or None for the system. `clinic`, `actor_*` override what the source tells (e.g. a failed
    login has no credential yet). Remaining keyword arguments are kept in `extra` (JSON-serialisable values).
    """
    credential = source if isinstance(source, Credential) else getattr(source, "auth", None)
    if not isinstance(credential, Credential):
        credential = None
    http_request = _http_request(source)
    user = getattr(source, "user", None) if http_request is not None else None
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None

    if credential is not None:
        kind = credential.actor_kind
        identifier = credential.actor_id
        clinic = clinic or credential.clinic
    elif user is not None and getattr(user, "pk", None):
        kind, identifier = AuditEvent.ActorKind.USER, str(user.pk)
    elif http_request is not None:
        kind, identifier = AuditEvent.ActorKind.PUBLIC, ""
    else:
        kind, identifier = AuditEvent.ActorKind.SYSTEM, ""
    kind = actor_kind or kind
    if kind not in _ACTOR_KINDS:
        kind = AuditEvent.ActorKind.SYSTEM
    user_agent = http_request.META.get("HTTP_USER_AGENT", "") if http_request is not None else ""
    return AuditEvent(
        clinic=clinic,
        actor_kind=kind,
        actor_id=_text(actor_id if actor_id is not None else identifier, 64),
        actor_label=_text(actor_label if actor_label is not None else _actor_label(credential, user), 254),
        action=_text(action, 80),
        object_type=_text(obj_type, 80),
        object_id=_text(obj_id, 80),
        purpose=_text(purpose, 200),
        ip=_client_ip(http_request),
        user_agent=_text(user_agent, 300),
        extra=_storable(extra),
    )


def _text(value, limit: int) -> str:
    """`value` as text PostgreSQL stores: NUL characters (which a caller may send in a header or a query string,
    and which text and jsonb columns refuse) dropped, cut to `limit`."""
    return str(value or "").replace("\x00", "")[:limit]


def _storable(value):
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_storable(str(key)): _storable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_storable(item) for item in value]
    return value
