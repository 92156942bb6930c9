"""The DRF side of credentials: read the header, let `clinics.credentials` check it, turn a refusal into 401.

Each authenticator returns `(user, Credential)`; views read the tenant from `request.auth.clinic`.
"""
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from ..credentials import (ROLE_SCOPES, Credential, credential_for_api_key, credential_for_jwt,  # noqa: F401
                           credential_for_oauth_token, decode_jwt, issue_jwt, revoke_session_access)
from ..errors import NotAuthenticated
from ..models import ApiKey


def _bearer(request) -> str | None:
    header = authentication.get_authorization_header(request).decode("latin-1").split()
    if len(header) == 2 and header[0].lower() == "bearer":
        return header[1]
    return None


def _checked(check, raw):
    try:
        return check(raw)
    except NotAuthenticated as error:
        raise exceptions.AuthenticationFailed(error.message)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer fd_live_...` or `X-API-KEY: fd_live_...`."""

    def authenticate(self, request):
        header = request.META.get("HTTP_X_API_KEY")
        if header is not None:
            # `X-API-KEY` carries nothing but a key: a value that cannot be one is an invalid key, not a missing
            # credential (the other authenticators never read this header).
            raw = header.strip()
            if not raw.startswith(ApiKey.PREFIX):
                raise exceptions.AuthenticationFailed(_("Invalid API key."))
            return _checked(credential_for_api_key, raw)
        raw = _bearer(request)
        if not raw:
            return None
        if not raw.startswith(ApiKey.PREFIX):
            # A dashboard JWT or an OAuth token, when the surface takes them; where keys are the only credential
            # (the notes API), a bearer that is not a key is an invalid key, not a missing credential.
            if any(isinstance(other, (JWTAuthentication, OAuthAuthentication))
                   for other in getattr(request, "authenticators", ())):
                return None
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        return _checked(credential_for_api_key, raw)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class JWTAuthentication(authentication.BaseAuthentication):
    """Dashboard access tokens (HS256) issued by /api/auth/login."""

    def authenticate(self, request):
        token = _bearer(request)
        if not token or token.startswith(ApiKey.PREFIX) or token.count(".") != 2:
            return None
        return _checked(credential_for_jwt, token)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class OAuthAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <OAuth access token>` from /oauth/token, acting for the clinic chosen at consent."""

    def authenticate(self, request):
        token = _bearer(request)
        if not token or token.startswith(ApiKey.PREFIX) or token.count(".") == 2:
            return None
        return _checked(credential_for_oauth_token, token)

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
                "scopes": {"read": "Read the clinic's data", "write": "Change the clinic's data",
                           "pii": "Read personal data decrypted (masked without it)"}}}}
