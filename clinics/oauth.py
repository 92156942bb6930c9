"""OAuth 2.0 (docs/api/voice.md) on django-oauth-toolkit: the consent page picks the clinic a token acts for.

The chosen clinic travels with the authorization code (OAuthGrantClinic) and then with every access token minted
from it or refreshed from one (OAuthTokenClinic); clinics.api.authentication.OAuthAuthentication reads it back.
"""
from django import forms
from django.utils.translation import gettext_lazy as _
from oauth2_provider.forms import AllowForm
from oauth2_provider.models import get_application_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views import AuthorizationView

from .models import Membership, OAuthGrantClinic, OAuthTokenClinic


def pkce_required(client_id: str) -> bool:
    """OAUTH2_PROVIDER["PKCE_REQUIRED"]: a public client (no secret it can keep: a browser or mobile app) must send
    a PKCE S256 challenge; a confidential client may do without, since it authenticates with its secret at
    `/oauth/token` (RFC 6749 section 4.1; docs/api/voice.md, OAuth 2.0). When it does send a challenge, the
    verifier is checked all the same. An unknown client id keeps PKCE required (the request fails anyway)."""
    client_type = (get_application_model().objects.filter(client_id=client_id)
                   .values_list("client_type", flat=True).first())
    return client_type != get_application_model().CLIENT_CONFIDENTIAL


class ClinicOAuth2Validator(OAuth2Validator):
    def _create_authorization_code(self, request, code, expires=None):
        grant = super()._create_authorization_code(request, code, expires)
        clinic_id = getattr(request, "clinic_id", None)
        if clinic_id is not None:
            OAuthGrantClinic.objects.create(grant=grant, clinic_id=clinic_id)
        return grant

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        link = OAuthGrantClinic.objects.filter(grant__code=code, grant__application=client).first()
        if link is None:
            return False
        request.clinic_id = link.clinic_id
        return True

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        previous = request.refresh_token_instance.access_token_id
        link = OAuthTokenClinic.objects.filter(access_token_id=previous).first() if previous else None
        if link is None:
            return False  # the clinic is unknown: the client must ask the user again
        request.clinic_id = link.clinic_id
        return True

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        clinic_id = getattr(request, "clinic_id", None)
        if clinic_id is not None:
            OAuthTokenClinic.objects.create(access_token=access_token, clinic_id=clinic_id)
        return access_token


class ClinicAllowForm(AllowForm):
    """DOT's consent form plus the clinic the application will act for (one of the user's memberships)."""

    clinic = forms.ChoiceField(label=_("Clinic"), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        memberships = Membership.objects.filter(user=user).select_related("clinic").order_by("joined_at", "id")
        self.memberships = {str(membership.clinic_id): membership for membership in memberships}
        self.fields["clinic"].choices = [(clinic_id, membership.clinic.name)
                                         for clinic_id, membership in self.memberships.items()]

    def clean_clinic(self):
        chosen = self.cleaned_data.get("clinic") or next(iter(self.memberships), None)
        if chosen is None:
            raise forms.ValidationError(_("You are not a member of any clinic."))
        return chosen


class ClinicAuthorizationView(AuthorizationView):
    """`GET/POST /oauth/authorize`: consent, with the clinic chosen by the user (default: their first)."""

    form_class = ClinicAllowForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        self.chosen_clinic_id = form.cleaned_data["clinic"]
        return super().form_valid(form)

    def create_authorization_response(self, request, scopes, credentials, allow):
        clinic_id = getattr(self, "chosen_clinic_id", None)
        if clinic_id is None:
            # Consent skipped (trusted application or earlier approval): the user's first clinic.
            first = Membership.objects.filter(user=request.user).order_by("joined_at", "id").first()
            clinic_id = str(first.clinic_id) if first else None
        credentials = {**credentials, "clinic_id": clinic_id}
        return super().create_authorization_response(request, scopes, credentials, allow)
