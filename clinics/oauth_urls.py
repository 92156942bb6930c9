"""`/oauth/`: django-oauth-toolkit's endpoints, with the clinic-choosing consent view; slashes optional."""
from django.urls import re_path
from django.urls.resolvers import URLPattern
from oauth2_provider import views
from oauth2_provider.urls import management_urlpatterns

from .oauth import ClinicAuthorizationView
from .views import console_page

app_name = "oauth2_provider"


def _behind_second_factor(pattern: URLPattern) -> URLPattern:
    """django-oauth-toolkit's application and authorized-token pages want only a signed-in user; here they are
    console pages, so the second factor is verified first (an app registered there can ask for any clinic)."""
    return URLPattern(pattern.pattern, console_page(member=False)(pattern.callback), pattern.default_args,
                      pattern.name)


urlpatterns = [
    # The consent page is a console page: sign-in and the two-factor rule apply before a clinic is shared.
    re_path(r"^authorize/?$", console_page(member=False)(ClinicAuthorizationView.as_view()), name="authorize"),
    re_path(r"^token/?$", views.TokenView.as_view(), name="token"),
    re_path(r"^revoke_token/?$", views.RevokeTokenView.as_view(), name="revoke-token"),
    re_path(r"^introspect/?$", views.IntrospectTokenView.as_view(), name="introspect"),
    *[_behind_second_factor(pattern) for pattern in management_urlpatterns],
]
