"""Console forms of the clinics app: sign-in, two-factor codes, team invitations and API keys."""
import hashlib

from django import forms
from django.core.cache import cache
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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

    # Same policy as the dashboard API's login: five wrong passwords for one e-mail lock it for 15 minutes.
    MAX_FAILURES = 5
    WINDOW_SECONDS = 15 * 60

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()

    @staticmethod
    def failure_key(email):
        return "console:login-failures:" + hashlib.sha256(email.encode()).hexdigest()

    def clean(self):
        email = self.cleaned_data.get("username")
        if email and cache.get(self.failure_key(email), 0) >= self.MAX_FAILURES:
            raise forms.ValidationError(_("Too many failed login attempts. Try again in 15 minutes."), code="locked")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if email:
                cache.add(self.failure_key(email), 0, timeout=self.WINDOW_SECONDS)
                cache.incr(self.failure_key(email))
            raise
        if email:
            cache.delete(self.failure_key(email))
        return cleaned


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
