"""Who is calling, and for which clinic: the credential every surface hands to the domain, with no HTTP in it.

API keys, dashboard JWTs (issue, decode, revoke a session) and OAuth tokens are checked here; the DRF
authentication classes of `clinics/api/authentication.py` only read the header and call these.
"""
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

import jwt
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.models import AccessToken, RefreshToken

from .errors import NotAuthenticated
from .models import ApiKey, Clinic, Membership, hash_secret


@dataclass
class Credential:
    clinic: Clinic
    scopes: frozenset
    actor_kind: str  # "key", "user", "oauth", "agent"
    actor_id: str
    membership: Membership | None = None
    api_key: ApiKey | None = None
    extra: dict = field(default_factory=dict)

    @property
    def role(self) -> str:
        return self.membership.role if self.membership else ("admin" if "write" in self.scopes else "viewer")

    def can(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def reads_pii(self) -> bool:
        """Whether this caller may see decrypted personal data: a key or token by its `pii` permission beside
        `read` (docs/api/README.md, "API key permissions"), a member's token or session capped by the role (viewers
        never). Every surface masks by this one rule."""
        if self.membership is not None and self.membership.role not in PII_ROLES:
            return False
        return self.can("read") and self.can("pii")


PII_ROLES = frozenset({Membership.Role.ADMIN, Membership.Role.EDITOR})

ROLE_SCOPES = {
    Membership.Role.ADMIN: frozenset({"read", "write", "admin", "pii"}),
    Membership.Role.EDITOR: frozenset({"read", "write", "pii"}),
    Membership.Role.VIEWER: frozenset({"read"}),
}


class ServiceUser:
    """Stands for a key whose creator was deleted; authenticated, never staff."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, key):
        self.pk = self.id = None
        self.email = f"api-key:{key.preview}"

    def __str__(self):
        return self.email


def credential_for_api_key(raw: str):
    """(user, Credential) of a full API key; NotAuthenticated when it is unknown, expired or revoked."""
    key = ApiKey.objects.select_related("clinic", "created_by").filter(digest=hash_secret(raw)).first()
    now = timezone.now()
    if key is None or key.revoked_at is not None or (key.expires_at and key.expires_at <= now):
        raise NotAuthenticated(message=_("Invalid, expired or revoked API key."))
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)  # the key's own row
    scopes = frozenset(key.permissions) | ({"read"} if "write" in key.permissions else set())
    user = key.created_by or ServiceUser(key)
    return user, Credential(key.clinic, scopes, "key", str(key.id), api_key=key)


def issue_jwt(membership: Membership, kind: str = "access", session_id: str | None = None,
              jti: str | None = None) -> tuple[str, timezone.datetime]:
    """Sign an HS256 access (30 min) or refresh (7 days) token for a member of a clinic.

    `session_id` ties the token to one login (logout revokes the session); `jti` names a refresh token in
    DashboardRefreshToken so it can be rotated and revoked.
    """
    now = timezone.now()
    lifetime = timedelta(minutes=settings.JWT_ACCESS_MINUTES) if kind == "access" else timedelta(
        days=settings.JWT_REFRESH_DAYS)
    expires = now + lifetime
    payload = {"sub": str(membership.user_id), "cid": str(membership.clinic_id), "typ": kind,
               "iat": int(now.timestamp()), "exp": int(expires.timestamp()), "jti": jti or secrets.token_hex(16),
               "pwd": password_stamp(membership.user)}
    if session_id:
        payload["sid"] = str(session_id)
    return jwt.encode(payload, settings.JWT_SIGNING_KEY, algorithm="HS256"), expires


def password_stamp(user) -> str:
    """A keyed stamp of the user's current password hash (Django's session auth hash, as console sessions use).
    Every dashboard token carries it, so a new password (a reset, a change) ends every token issued before."""
    return user.get_session_auth_hash()[:20]


def password_stamp_matches(payload: dict, user) -> bool:
    return hmac.compare_digest(str(payload.get("pwd") or ""), password_stamp(user))


def _revoked_session_key(session_id: str) -> str:
    return f"auth:revoked-session:{session_id}"


def revoke_session_access(session_id) -> None:
    """Make the access tokens of a logged-out session stop working before they expire (they live 30 min)."""
    cache.set(_revoked_session_key(str(session_id)), 1, timeout=settings.JWT_ACCESS_MINUTES * 60 + 60)


def revoke_user_oauth_tokens(user) -> int:
    """Revoke every OAuth access and refresh token of `user`; returns how many access tokens ended."""
    for refresh in RefreshToken.objects.filter(user=user, revoked__isnull=True):
        refresh.revoke()
    deleted, _by_model = AccessToken.objects.filter(user=user).delete()
    return deleted


def decode_jwt(token: str, kind: str) -> dict:
    """The claims of a valid, unexpired token of `kind` ("access" or "refresh"); NotAuthenticated otherwise."""
    try:
        payload = jwt.decode(token, settings.JWT_SIGNING_KEY, algorithms=["HS256"],
                             options={"require": ["exp", "sub", "cid", "typ"]})
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated(message=_("Token expired."))
    except jwt.InvalidTokenError:
        raise NotAuthenticated(message=_("Invalid token."))
    if payload.get("typ") != kind:
        raise NotAuthenticated(message=_("Invalid token."))
    return payload


def credential_for_jwt(token: str):
    """(user, Credential) of a dashboard access token; NotAuthenticated when invalid, expired or logged out."""
    payload = decode_jwt(token, "access")
    if payload.get("sid") and cache.get(_revoked_session_key(payload["sid"])):
        raise NotAuthenticated(message=_("Token revoked."))
    membership = (Membership.objects.select_related("clinic", "user")
                  .filter(user_id=payload["sub"], clinic_id=payload["cid"], user__is_active=True).first())
    if membership is None or not password_stamp_matches(payload, membership.user):
        raise NotAuthenticated(message=_("Invalid token."))
    return membership.user, Credential(membership.clinic, ROLE_SCOPES[membership.role], "user",
                                       str(membership.user_id), membership=membership,
                                       extra={"jti": payload.get("jti"), "sid": payload.get("sid")})


def credential_for_oauth_token(token: str):
    """(user, Credential) of an OAuth access token, acting for the clinic chosen at consent.

    The token's scopes are capped by the member's role, so a viewer's token never writes nor reads personal data
    (`pii`), whatever it was granted.
    """
    checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
    access_token = (AccessToken.objects.select_related("user", "application", "clinic_link__clinic")
                    .filter(token_checksum=checksum).first())
    refused = NotAuthenticated(message=_("Invalid or expired access token."))
    if access_token is None or access_token.is_expired() or access_token.user is None:
        raise refused
    link = getattr(access_token, "clinic_link", None)
    if link is None:
        raise refused
    membership = (Membership.objects.select_related("clinic", "user")
                  .filter(user=access_token.user, clinic_id=link.clinic_id, user__is_active=True).first())
    if membership is None:
        raise refused
    granted = set(access_token.scope.split())
    if "write" in granted:
        granted.add("read")
    scopes = frozenset(granted & {"read", "write", "pii"}) & ROLE_SCOPES[membership.role]
    return membership.user, Credential(membership.clinic, scopes, "oauth", str(access_token.pk),
                                       membership=membership,
                                       extra={"application": access_token.application.name,
                                              "label": membership.user.email})
