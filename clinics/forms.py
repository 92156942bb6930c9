"""Console forms of the clinics app: sign-in, two-factor codes, team invitations and API keys."""
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import services
from .errors import RateLimited
from .models import ApiKey, Membership


class EmailAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, labelled for e-mail addresses; users are stored with lower-case e-mails."""

    username = forms.EmailField(
        label=_("E-mail"), max_length=254, widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"})
    )
    error_messages = {
        "invalid_login": _("Your e-mail and password didn't match. Please try again."),
        "inactive": _("This account is inactive."),
    }

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()

    def clean(self):
        # The dashboard API's throttle (clinics.services.sign_in_throttle_check): one count per account and per IP
        # for both surfaces, so failures on one lock the other too.
        email = self.cleaned_data.get("username")
        if email:
            try:
                services.sign_in_throttle_check(email=email, actor=self.request, surface="console")
            except RateLimited as error:
                raise forms.ValidationError(error.message, code="locked")
        try:
            return super().clean()
        except forms.ValidationError:
            if email:
                services.sign_in_attempt_record(email=email, succeeded=False, actor=self.request)
            raise


class TokenForm(forms.Form):
    """A six-digit code from an authenticator app."""

    code = forms.RegexField(
        label=_("Code from your authenticator app"), regex=r"^\s*\d{6}\s*$", max_length=12,
        error_messages={"invalid": _("Enter the 6-digit code shown in your authenticator app.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True,
                                      "pattern": r"\s*\d{6}\s*"}),
    )

    def clean_code(self):
        return self.cleaned_data["code"].strip()


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.VIEWER)

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"), choices=ApiKey.Permission.choices, widget=forms.CheckboxSelectMultiple,
        initial=[ApiKey.Permission.READ],
    )
    expires_at = forms.DateTimeField(
        label=_("Expires at (optional)"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )

    def clean_expires_at(self):
        value = self.cleaned_data["expires_at"]
        if value is not None and value <= timezone.now():
            raise forms.ValidationError(_("The expiry must be in the future."))
        return value


class AcceptInvitationForm(forms.Form):
    """A new invitee chooses the password of their account; Django's validators judge it in the service."""

    password1 = forms.CharField(label=_("Password"), strip=False, max_length=256,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("Password again"), strip=False, max_length=256,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return cleaned


class ClinicSettingsForm(forms.Form):
    """The clinic's own details; the rules (time zone, E.164 phone, unique slug) are `services.clinic_update`'s,
    so the console and the API agree."""

    name = forms.CharField(label=_("Clinic name"), max_length=200)
    slug = forms.SlugField(label=_("Public booking address"), max_length=80,
                           help_text=_("The part of the public booking link that comes after /booking/."))
    timezone = forms.CharField(label=_("Time zone"), max_length=64, help_text=_("An IANA name such as Europe/Lisbon."))
    locale = forms.ChoiceField(label=_("Language of the clinic"), choices=[])
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    email = forms.EmailField(label=_("E-mail"), max_length=254, required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)

    def __init__(self, *args, clinic, **kwargs):
        from django.conf import settings

        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["locale"].choices = settings.LANGUAGES
        self.validated = {}

    def clean(self):
        cleaned = super().clean()
        self.validated = dict(cleaned)
        return cleaned
