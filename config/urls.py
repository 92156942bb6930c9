"""URL map: the console, Django admin, the API surfaces and the public pages."""
from django.contrib import admin
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config.health import health
from config.metrics import metrics_view
from config.surfaces import surface_for_path
from config.surfaces.errors import Problem

# Django admin (support staff) needs a verified second factor, like clinic admins in the console.
admin.site.__class__ = OTPAdminSite
# Its look is the console's (templates/admin/base_site.html, static/css/admin.css).
admin.site.site_header = admin.site.site_title = _("Frontdesk support")
admin.site.index_title = _("Clinics you support")

urlpatterns = [
    path("health", health, name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("docs/redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("v1/", include("config.urls_v1")),
    path("api/v1/", include("config.urls_voice")),
    path("notes/v1/", include("notes.api.urls")),
    path("api/", include("config.urls_dashboard")),
    path("attendance-service/", include("telephony.api.urls_attendance")),
    path("booking/", include("scheduling.public_urls")),
    # OAuth 2.0 (docs/api/voice.md, Authentication): django-oauth-toolkit with a clinic-choosing consent; /oauth/authorize, /oauth/token.
    path("oauth/", include("clinics.oauth_urls", namespace="oauth2_provider")),
    path("", include("campaigns.public_urls")),
    path("console/", include("telephony.urls")),
    path("console/", include("campaigns.urls")),
    path("console/triage/", include("campaigns.triage_urls")),
    path("agenda/", include("scheduling.urls")),
    path("console/notes/", include("notes.urls")),
    path("knowledge/", include("knowledge.urls")),
    path("billing/", include("billing.urls")),
    path("", include("scheduling.calendar_sync.console_urls")),
    path("", include("clinics.console_urls")),
]


def _problem_page(request, status_code, code, message, template):
    surface = surface_for_path(request.path)
    if surface is not None and "text/html" not in request.headers.get("Accept", ""):
        return JsonResponse(surface.error_body(Problem(status_code, code, message)), status=status_code)
    return render(request, template, {"status": status_code, "message": message}, status=status_code)


def handler404(request, exception=None):
    return _problem_page(request, 404, "NOT_FOUND", "Not found.", "errors/404.html")


def handler500(request):
    return _problem_page(request, 500, "INTERNAL_ERROR", "An unexpected error occurred", "errors/500.html")


def handler400(request, exception=None):
    return _problem_page(request, 400, "BAD_REQUEST", "Bad request.", "errors/400.html")


def handler403(request, exception=None):
    return _problem_page(request, 403, "FORBIDDEN", "Insufficient permissions", "errors/403.html")
