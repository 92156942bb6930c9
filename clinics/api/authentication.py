"""Who is calling, and for which clinic: one credential model behind every API surface.

Each authenticator returns `(user, Credential)`; views read the tenant from `request.auth.clinic`.
"""
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

import jwt
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from ..models import ApiKey, Clinic, Membership, hash_secret


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


def _bearer(request) -> str | None:
    header = authentication.get_authorization_header(request).decode("latin-1").split()
    if len(header) == 2 and header[0].lower() == "bearer":
        return header[1]
    return None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer fd_live_...` or `X-API-KEY: fd_live_...`."""

    def authenticate(self, request):
        raw = request.META.get("HTTP_X_API_KEY") or _bearer(request)
        if not raw or not raw.startswith(ApiKey.PREFIX):
            return None
        key = ApiKey.objects.select_related("clinic", "created_by").filter(digest=hash_secret(raw)).first()
        now = timezone.now()
        if key is None or key.revoked_at is not None or (key.expires_at and key.expires_at <= now):
            raise exceptions.AuthenticationFailed(_("Invalid, expired or revoked API key."))
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        scopes = frozenset(key.permissions) | ({"read"} if "write" in key.permissions else set())
        user = key.created_by or _ServiceUser(key)
        return user, Credential(key.clinic, scopes, "key", str(key.id), api_key=key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class _ServiceUser:
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


ROLE_SCOPES = {
    Membership.Role.ADMIN: frozenset({"read", "write", "admin"}),
    Membership.Role.EDITOR: frozenset({"read", "write"}),
    Membership.Role.VIEWER: frozenset({"read"}),
}


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
               "iat": int(now.timestamp()), "exp": int(expires.timestamp()), "jti": jti or secrets.token_hex(16)}
    if session_id:
        payload["sid"] = str(session_id)
    return jwt.encode(payload, settings.JWT_SIGNING_KEY, algorithm="HS256"), expires


def _revoked_session_key(session_id: str) -> str:
    return f"auth:revoked-session:{session_id}"


def revoke_session_access(session_id) -> None:
    """Make the access tokens of a logged-out session stop working before they expire (they live 30 min)."""
    cache.set(_revoked_session_key(str(session_id)), 1, timeout=settings.JWT_ACCESS_MINUTES * 60 + 60)


def decode_jwt(token: str, kind: str) -> dict:
    try:
        payload = jwt.decode(token, settings.JWT_SIGNING_KEY, algorithms=["HS256"],
                             options={"require": ["exp", "sub", "cid", "typ"]})
    except jwt.ExpiredSignatureError:
        raise exceptions.AuthenticationFailed(_("Token expired."))
    except jwt.InvalidTokenError:
        raise exceptions.AuthenticationFailed(_("Invalid token."))
    if payload.get("typ") != kind:
        raise exceptions.AuthenticationFailed(_("Invalid token."))
    return payload


class JWTAuthentication(authentication.BaseAuthentication):
    """Dashboard access tokens (HS256) issued by /api/auth/login."""

    def authenticate(self, request):
        token = _bearer(request)
        if not token or token.startswith(ApiKey.PREFIX) or token.count(".") != 2:
            return None
        payload = decode_jwt(token, "access")
        if payload.get("sid") and cache.get(_revoked_session_key(payload["sid"])):
            raise exceptions.AuthenticationFailed(_("Token revoked."))
        membership = (Membership.objects.select_related("clinic", "user")
                      .filter(user_id=payload["sub"], clinic_id=payload["cid"], user__is_active=True).first())
        if membership is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        return membership.user, Credential(membership.clinic, ROLE_SCOPES[membership.role], "user",
                                           str(membership.user_id), membership=membership,
                                           extra={"jti": payload.get("jti"), "sid": payload.get("sid")})

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class OAuthAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <OAuth access token>` from /oauth/token, acting for the clinic chosen at consent.

    The token's scopes are capped by the member's role, so a viewer's token never writes.
    """

    def authenticate(self, request):
        token = _bearer(request)
        if not token or token.startswith(ApiKey.PREFIX) or token.count(".") == 2:
            return None
        from oauth2_provider.models import AccessToken

        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        access_token = (AccessToken.objects.select_related("user", "application", "clinic_link__clinic")
                        .filter(token_checksum=checksum).first())
        if access_token is None or access_token.is_expired() or access_token.user is None:
            raise exceptions.AuthenticationFailed(_("Invalid or expired access token."))
        link = getattr(access_token, "clinic_link", None)
        if link is None:
            raise exceptions.AuthenticationFailed(_("Invalid or expired access token."))
        membership = (Membership.objects.select_related("clinic", "user")
                      .filter(user=access_token.user, clinic_id=link.clinic_id, user__is_active=True).first())
        if membership is None:
            raise exceptions.AuthenticationFailed(_("Invalid or expired access token."))
        granted = set(access_token.scope.split())
        if "write" in granted:
            granted.add("read")
        scopes = frozenset(granted & {"read", "write"}) & ROLE_SCOPES[membership.role]
        return membership.user, Credential(membership.clinic, scopes, "oauth", str(access_token.pk),
                                           membership=membership,
                                           extra={"application": access_token.application.name,
                                                  "label": membership.user.email})

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


# OpenAPI (drf-spectacular) descriptions of the credentials, so /docs shows how to authenticate.
try:
    from drf_spectacular.extensions import OpenApiAuthenticationExtension
except ImportError:  # pragma: no cover - drf-spectacular is a requirement; keep auth importable without it
    OpenApiAuthenticationExtension = None

if OpenApiAuthenticationExtension is not None:
    class ApiKeySchema(OpenApiAuthenticationExtension):
        target_class = ApiKeyAuthentication
        name = ["ApiKeyBearer", "ApiKeyHeader"]

        def get_security_definition(self, auto_schema):
            return [{"type": "http", "scheme": "bearer", "description": "API key `fd_live_...`"},
                    {"type": "apiKey", "in": "header", "name": "X-API-KEY"}]

    class JWTSchema(OpenApiAuthenticationExtension):
        target_class = JWTAuthentication
        name = "DashboardJWT"

        def get_security_definition(self, auto_schema):
            return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "Access token from POST /api/auth/login (HS256, 30 minutes)"}

    class OAuthSchema(OpenApiAuthenticationExtension):
        target_class = OAuthAuthentication
        name = "OAuth2"

        def get_security_definition(self, auto_schema):
            return {"type": "oauth2", "flows": {"authorizationCode": {
                "authorizationUrl": "/oauth/authorize", "tokenUrl": "/oauth/token",
                "scopes": {"read": "Read the clinic's data", "write": "Change the clinic's data"}}}}
