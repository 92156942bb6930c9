"""The five API conventions of Frontdesk, each a thin adapter over the same domain views.

A surface owns a URL prefix, its authentication headers, pagination style, success envelope and error body.
A domain view is written once and mounted on a surface by composition:

    class ProfessionalV1ViewSet(V1Surface.view, ProfessionalViewSet): ...

Errors raised anywhere under a prefix (DRF, Django 404/500, body too large) come out in that surface's format.
"""
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer

from clinics.api import throttles
from clinics.api.authentication import ApiKeyAuthentication, JWTAuthentication, OAuthAuthentication

from . import pagination
from .errors import Problem


class EnvelopeRenderer(JSONRenderer):
    """Wraps a success body in the surface's envelope, unless the paginator or error handler already did."""

    surface = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None and not getattr(response, "enveloped", False) and response.status_code < 400:
            data = self.surface.wrap_success(data, response)
        return super().render(data, accepted_media_type, renderer_context)


class Surface:
    name = ""
    prefix = ""
    pagination_class = None
    authentication_classes = (ApiKeyAuthentication,)
    # Rate limits (clinics/api/throttles.py); their X-RateLimit-* headers are added to every answer, 429s included.
    throttle_classes = (throttles.ApiCallCounter,)

    def error_body(self, problem: Problem) -> dict:
        raise NotImplementedError

    def wrap_success(self, data, response):
        return data

    def matches(self, path: str) -> bool:
        return path.startswith(self.prefix)

    def build_view_mixin(self):
        surface = self
        renderer = type(f"{self.name.title()}Renderer", (EnvelopeRenderer,), {"surface": surface})

        class SurfaceView:
            pass

        SurfaceView.surface = surface
        SurfaceView.pagination_class = self.pagination_class
        SurfaceView.authentication_classes = list(self.authentication_classes)
        SurfaceView.throttle_classes = list(self.throttle_classes)

        def finalize_response(view, request, response, *args, **kwargs):
            response = super(SurfaceView, view).finalize_response(request, response, *args, **kwargs)
            return throttles.add_headers(request, response)

        def initial(view, request, *args, **kwargs):
            super(SurfaceView, view).initial(request, *args, **kwargs)
            refuse_nul_characters(request.query_params)

        SurfaceView.finalize_response = finalize_response
        SurfaceView.initial = initial
        SurfaceView.renderer_classes = [renderer]
        SurfaceView.get_exception_handler = lambda view: _handler
        SurfaceView.__name__ = f"{self.name.title()}SurfaceView"
        return SurfaceView

    @property
    def view(self):
        if "_view" not in self.__dict__:
            self._view = self.build_view_mixin()
        return self._view


def refuse_nul_characters(params) -> None:
    """A NUL character cannot reach PostgreSQL (it refuses it in any text): a query parameter holding one is a 400
    on that parameter on every surface, before any filter, cursor or search reads it."""
    for name, values in params.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            raise ValidationError({name.replace("\x00", "") or "query": [_("Must not contain NUL characters.")]})


def _handler(exc, context):
    from .errors import exception_handler

    return exception_handler(exc, context)


class ClinicV1Surface(Surface):
    """docs/api/clinic-v1.md: `/v1/`, Bearer API key, keyset cursors, errors `{"error": {"code", "message", "details"}}`."""

    name = "v1"
    prefix = "/v1/"
    pagination_class = pagination.KeysetCursorPagination
    authentication_classes = (ApiKeyAuthentication, JWTAuthentication, OAuthAuthentication)

    def error_body(self, problem):
        return {"error": {"code": problem.code, "message": problem.message, "details": problem.details}}


class DashboardSurface(Surface):
    """docs/api/dashboard.md: `/api/`, JWT (or API key), `{"detail": ...}` errors, page/per_page."""

    name = "dashboard"
    prefix = "/api/"
    pagination_class = pagination.DashboardPagination
    authentication_classes = (JWTAuthentication, ApiKeyAuthentication, OAuthAuthentication)
    throttle_classes = (throttles.DashboardRateThrottle, throttles.ApiCallCounter)

    def matches(self, path):
        # The video consultations' attendance service (docs/api/video.md) speaks the dashboard's conventions.
        return path.startswith(("/api/", "/attendance-service/"))

    def error_body(self, problem):
        body = {"detail": problem.message, "code": problem.code}
        if problem.details:
            body["errors"] = problem.details
        return body


class VoiceSurface(Surface):
    """docs/api/voice.md: `/api/v1/`, Bearer API key or OAuth token, `{"success", "message", "data"}`."""

    name = "voice"
    prefix = "/api/v1/"
    pagination_class = pagination.VoicePagination
    authentication_classes = (ApiKeyAuthentication, JWTAuthentication, OAuthAuthentication)

    def error_body(self, problem):
        body = {"success": False, "message": problem.message, "data": None, "code": problem.code}
        if problem.details:
            body["errors"] = problem.details
        return body

    def wrap_success(self, data, response):
        return {"success": True, "message": getattr(response, "message", None) or "Operation completed successfully",
                "data": data}


class NotesSurface(Surface):
    """docs/api/notes.md: `/notes/v1/`, `X-API-KEY`, `{"data", "meta"}`, errors `{"error", "message", "code", "details"}`."""

    name = "notes"
    prefix = "/notes/v1/"
    pagination_class = pagination.NotesPagination
    authentication_classes = (ApiKeyAuthentication,)
    throttle_classes = (throttles.NotesRateThrottle, throttles.ApiCallCounter)

    def error_body(self, problem):
        body = {"error": problem.word, "message": problem.message, "code": problem.code}
        if problem.details or problem.status not in (429,):
            body["details"] = problem.details
        return body

    def wrap_success(self, data, response):
        return {"data": data, "meta": getattr(response, "meta", None) or {}}


class PublicSurface(DashboardSurface):
    """Public pages (`/booking/`, `/triagem/`, `/feedback/`, `/marketing-consent/`): no auth, `{"detail"}` errors for
    JSON callers."""

    name = "public"
    prefix = "/booking/"
    authentication_classes = ()
    throttle_classes = ()

    def matches(self, path):
        return path.startswith(("/booking/", "/triagem/", "/feedback/", "/marketing-consent/"))


V1 = ClinicV1Surface()
DASHBOARD = DashboardSurface()
VOICE = VoiceSurface()
NOTES = NotesSurface()
PUBLIC = PublicSurface()

# Longest prefix first: /api/v1/ is the voice surface, the rest of /api/ is the dashboard.
SURFACES = (NOTES, VOICE, V1, PUBLIC, DASHBOARD)


def surface_for_path(path: str) -> Surface | None:
    for surface in SURFACES:
        if surface.matches(path):
            return surface
    return None
