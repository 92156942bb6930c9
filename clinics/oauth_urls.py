"""`/oauth/`: django-oauth-toolkit's endpoints, with the clinic-choosing consent view; slashes optional."""
from django.urls import re_path
from oauth2_provider import views
from oauth2_provider.urls import management_urlpatterns

from .oauth import ClinicAuthorizationView
from .views import console_page

app_name = "oauth2_provider"

urlpatterns = [
    # The consent page is a console page: sign-in and the two-factor rule apply before a clinic is shared.
    re_path(r"^authorize/?$", console_page(member=False)(ClinicAuthorizationView.as_view()), name="authorize"),
    re_path(r"^token/?$", views.TokenView.as_view(), name="token"),
    re_path(r"^revoke_token/?$", views.RevokeTokenView.as_view(), name="revoke-token"),
    re_path(r"^introspect/?$", views.IntrospectTokenView.as_view(), name="introspect"),
    *management_urlpatterns,
]
