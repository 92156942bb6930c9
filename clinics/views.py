"""Console pages of the clinics app: sign-in with two-factor, profile, clinic switcher, team and API keys."""
import time
import uuid
from base64 import b32encode
from functools import wraps
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.logging import scrub_url

from . import audit, extensions, selectors, services
from .credentials import ROLE_SCOPES, Credential
from .errors import DomainError, NotAuthenticated, NotFound, RateLimited
from .context_processors import SESSION_CLINIC_KEY, active_membership_for, memberships_of
from .forms import (AcceptInvitationForm, ApiKeyForm, ClinicSettingsForm, EmailAuthenticationForm, InviteForm,
                    TokenForm)
from .models import Membership

PENDING_USER_KEY = "otp_pending_user"
PENDING_BACKEND_KEY = "otp_pending_backend"
PENDING_SINCE_KEY = "otp_pending_since"
PENDING_FAILURES_KEY = "otp_pending_failures"
# A password step is good for five minutes and five wrong codes; after that the password is asked again.
PENDING_LIFETIME_SECONDS = 300
PENDING_MAX_FAILURES = 5


def needs_two_factor(user):
    """Clinic admins must use a second factor; so must anyone who has set one up."""
    return user.memberships.filter(role=Membership.Role.ADMIN).exists() or user_has_device(user, confirmed=True)


def _safe_next(request, fallback="console:home"):
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse(fallback)


def _with_next(url_name, next_url):
    url = reverse(url_name)
    return f"{url}?{urlencode({REDIRECT_FIELD_NAME: next_url})}" if next_url else url


def console_page(view=None, *, roles=None, member=True, write=False):
    """Sign-in, the two-factor rule and (optionally) a role in the active clinic, for every console page.

    This is the one place the console finds the clinic: the view reads `request.clinic` (None only with
    `member=False`) and scopes every query with `.for_clinic(request.clinic)`. `member=False` lets users without
    a clinic (support staff) in; `roles` limits the page to those roles; `write=True` refuses (403) members
    whose role may not change data (viewers) on a POST.
    """

    def decorate(view_func):
        @wraps(view_func)
        def wrapped(request, *args, **kwargs):
            user = request.user
            # The page to come back to travels in `next`, in the URL: never with a searched name, phone or e-mail.
            back = scrub_url(request.get_full_path())
            if not user.is_authenticated:
                return redirect_to_login(back, reverse(settings.LOGIN_URL))
            if not user.is_verified() and needs_two_factor(user):
                if user_has_device(user, confirmed=True):
                    return redirect(_with_next("console:login_verify", back))
                messages.warning(request, _("Set up two-factor authentication to continue."))
                return redirect(_with_next("console:two_factor_setup", back))
            request.membership = active_membership_for(request)
            request.clinic = request.membership.clinic if request.membership is not None else None
            if request.membership is not None:
                # The console acts like the dashboard API for this member, so it calls the same services.
                request.auth = Credential(request.membership.clinic, ROLE_SCOPES[request.membership.role], "user",
                                          str(user.pk), membership=request.membership)
            if member and request.membership is None:
                return render(request, "console/no_clinic.html", status=403)
            if roles and (request.membership is None or request.membership.role not in roles):
                raise PermissionDenied
            if write and request.method == "POST" and not request.auth.can("write"):
                raise PermissionDenied
            return view_func(request, *args, **kwargs)

        return wrapped

    return decorate(view) if view is not None else decorate


# --- Sign-in: password first, then the authenticator code for those who have one.


class LoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        email = form.cleaned_data.get("username", "")
        locked = any(error.code == "locked" for error in form.non_field_errors().as_data())
        if email and not locked:  # a lock-out was audited by the throttle that refused it
            user = get_user_model().objects.filter(email=email).first()
            first = user.memberships.select_related("clinic").first() if user else None
            audit.record(self.request, "auth.login_failed", "user", user.pk if user else "", actor_kind="public",
                         actor_label=email, clinic=first.clinic if first else None, surface="console")
        return super().form_invalid(form)

    def form_valid(self, form):
        user = form.get_user()
        first = user.memberships.select_related("clinic").first()
        audit.record(self.request, "auth.password_ok" if user_has_device(user, confirmed=True) else "auth.login",
                     "user", str(user.pk), clinic=first.clinic if first else None, actor_kind="user",
                     actor_id=str(user.pk), actor_label=user.email, surface="console")
        if not user_has_device(user, confirmed=True):
            services.sign_in_attempt_record(email=user.email, succeeded=True, actor=self.request)
        else:
            # Not signed in yet: the session only remembers who passed the password step, and when.
            self.request.session.cycle_key()
            self.request.session[PENDING_USER_KEY] = str(user.pk)
            self.request.session[PENDING_BACKEND_KEY] = user.backend
            self.request.session[PENDING_SINCE_KEY] = time.time()
            self.request.session[PENDING_FAILURES_KEY] = 0
            return redirect(_with_next("console:login_verify", self.get_redirect_url()))
        return super().form_valid(form)


def _clear_pending(session):
    for key in (PENDING_USER_KEY, PENDING_BACKEND_KEY, PENDING_SINCE_KEY, PENDING_FAILURES_KEY):
        session.pop(key, None)


def _pending_user(request):
    if request.user.is_authenticated:
        return request.user
    user_id = request.session.get(PENDING_USER_KEY)
    since = request.session.get(PENDING_SINCE_KEY, 0)
    if not user_id or time.time() - since > PENDING_LIFETIME_SECONDS:
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


def login_verify(request):
    """Second sign-in step: a code from one of the user's confirmed TOTP devices."""
    user = _pending_user(request)
    if user is None:
        _clear_pending(request.session)
        messages.error(request, _("Please sign in again."))
        return redirect(_with_next("console:login", request.GET.get(REDIRECT_FIELD_NAME, "")))
    if request.user.is_authenticated and request.user.is_verified():
        return redirect(_safe_next(request))
    devices = list(devices_for_user(user, confirmed=True))
    if not devices:
        return redirect(_with_next("console:two_factor_setup", _safe_next(request)))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.sign_in_throttle_check(email=user.email, actor=request, surface="console")
        except RateLimited as error:
            if not request.user.is_authenticated:
                _clear_pending(request.session)
            messages.error(request, error.message)
            return redirect("console:login")
        try:
            device = services.second_factor_verify(user=user, code=form.cleaned_data["code"])
        except NotAuthenticated:
            device = None
        if device is not None:
            if not request.user.is_authenticated:
                auth_login(request, user, backend=request.session.get(PENDING_BACKEND_KEY))
            otp_login(request, device)
            services.sign_in_attempt_record(email=user.email, succeeded=True, actor=request)
            first = user.memberships.select_related("clinic").first()
            audit.record(request, "auth.login", "user", str(user.pk), clinic=first.clinic if first else None,
                         actor_kind="user", actor_id=str(user.pk), actor_label=user.email, surface="console",
                         second_factor="totp")
            _clear_pending(request.session)
            return redirect(_safe_next(request))
        # A wrong code is a failed sign-in of the account, as on `POST /api/auth/login`.
        services.sign_in_attempt_record(email=user.email, succeeded=False, actor=request)
        failures = request.session.get(PENDING_FAILURES_KEY, 0) + 1
        request.session[PENDING_FAILURES_KEY] = failures
        if failures >= PENDING_MAX_FAILURES and not request.user.is_authenticated:
            _clear_pending(request.session)
            messages.error(request, _("Too many wrong codes. Please sign in again."))
            return redirect("console:login")
        form.add_error("code", _("That code is not valid. Check your device's clock and try again."))
    return render(request, "console/login_verify.html", {"form": form, "next": _safe_next(request)})


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("console:login")


# --- Password reset: Django's views, with the console's templates and namespaced URLs.


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("console:password_reset_done")

    def form_valid(self, form):
        # Counted per e-mail and per IP whether or not the e-mail has an account (clinics.services
        # password_reset_throttle): nobody can flood a mailbox, and the answer tells nothing about who is registered.
        try:
            services.password_reset_throttle(email=form.cleaned_data["email"], actor=self.request)
        except RateLimited as error:
            form.add_error(None, error.message)
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(error.retry_after or 3600)
            return response
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("console:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        # Whoever needed the reset may not be the only one who knew the old password: end every login.
        services.user_credentials_revoke(user=form.user, actor=self.request, reason="password_reset")
        return response


# --- Profile and two-factor set-up.


def _qr_svg(data):
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


@console_page(member=False)
def profile(request):
    devices = TOTPDevice.objects.filter(user=request.user, confirmed=True).order_by("name")
    return render(request, "console/profile.html", {
        "devices": devices, "memberships": memberships_of(request),
        "two_factor_required": needs_two_factor(request.user),
    })


def two_factor_setup(request):
    """Show a fresh TOTP secret (otpauth URL and QR code) and confirm it with a first code."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse(settings.LOGIN_URL))
    user = request.user
    if user_has_device(user, confirmed=True) and not user.is_verified():
        # Adding a device must not bypass the existing one.
        return redirect(_with_next("console:login_verify", request.get_full_path()))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            with transaction.atomic():
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            otp_login(request, device)
            messages.success(request, _("Two-factor authentication is on."))
            return redirect(_safe_next(request, fallback="console:profile"))
        form.add_error("code", _("That code is not valid. Check your device's clock and try again."))
    return render(request, "console/two_factor_setup.html", {
        "form": form, "otpauth_url": device.config_url, "qr_svg": _qr_svg(device.config_url),
        "secret": _base32_secret(device), "next": request.GET.get(REDIRECT_FIELD_NAME, ""),
    })


def _base32_secret(device):
    return b32encode(device.bin_key).decode()


# --- Clinic switcher.


@require_POST
@console_page(member=False)
def switch_clinic(request):
    try:
        clinic_id = uuid.UUID(request.POST.get("clinic_id", ""))
    except ValueError:
        raise Http404
    membership = get_object_or_404(Membership.objects.select_related("clinic"), user=request.user, clinic_id=clinic_id)
    request.session[SESSION_CLINIC_KEY] = str(membership.clinic_id)
    messages.success(request, _("You are now working in %(clinic)s.") % {"clinic": membership.clinic.name})
    return redirect(_safe_next(request))


# --- Pages.


@console_page
def home(request):
    """The front desk's day: today's appointments per professional with check-in and no-show, calls waiting and
    callbacks, and 30 days of bookings, calls and no-shows; the figures come from the app that registered them
    (`extensions.home_summary`). Viewers see names and phones masked and no buttons."""
    can_write = request.auth.can("write")
    full = request.membership.role != Membership.Role.VIEWER
    summary = extensions.home_summary(request.clinic, now=timezone.now(), full=full)
    if full and (summary.get("professionals") or summary.get("waiting_calls") or summary.get("callbacks")):
        audit.record(request, "patient.list", "", "", _("console home"), clinic=request.clinic,
                     appointments=sum(len(row["appointments"]) for row in summary.get("professionals", [])),
                     calls=len(summary.get("waiting_calls", [])) + len(summary.get("callbacks", [])))
    return render(request, "console/home.html", {"summary": summary, "can_write": can_write})


@console_page
def team(request):
    clinic = request.clinic
    is_admin = request.membership.role == Membership.Role.ADMIN
    return render(request, "console/team.html", {
        "members": selectors.team_members(clinic), "is_admin": is_admin,
        "invitations": selectors.pending_invitations(clinic).order_by("email") if is_admin else [],
        "invite_form": InviteForm() if is_admin else None,
    })


@require_POST
@console_page(roles=[Membership.Role.ADMIN], write=True)
def team_invite(request):
    form = InviteForm(request.POST)
    if not form.is_valid():
        clinic = request.clinic
        return render(request, "console/team.html", {
            "members": selectors.team_members(clinic), "is_admin": True, "invite_form": form,
            "invitations": selectors.pending_invitations(clinic).order_by("email"),
        }, status=400)
    try:
        services.invitation_create(clinic=request.clinic, actor=request, email=form.cleaned_data["email"],
                                   role=form.cleaned_data["role"])
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("An invitation was sent to %(email)s.") % {"email": form.cleaned_data["email"]})
    return redirect("console:team")


@require_POST
@console_page(roles=[Membership.Role.ADMIN], write=True)
def team_remove(request, member_id):
    """Remove a member, or cancel a pending invitation (same id space as the dashboard API)."""
    try:
        services.member_remove(clinic=request.clinic, actor=request, member_id=member_id)
    except NotFound:
        raise Http404
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Removed from the team."))
    return redirect("console:team")


def accept_invitation(request, token):
    """The link of an invitation e-mail: a signed-in invitee joins; a new one chooses a password first."""
    invitation = selectors.invitation_for_token(token)
    if invitation is None:
        return render(request, "console/invitation.html", {"invalid": True}, status=404)
    signed_in = request.user.is_authenticated
    account_exists = signed_in or get_user_model().objects.filter(email__iexact=invitation.email).exists()
    form = AcceptInvitationForm(request.POST or None) if not account_exists else None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            membership = services.invitation_accept(
                token=token, user=request.user if signed_in else None,
                password=form.cleaned_data["password1"] if form is not None else None, actor=request)
        except DomainError as error:
            if form is not None and error.details.get("password"):
                form.add_error("password1", error.details["password"])
            else:
                messages.error(request, error.message)
        else:
            request.session[SESSION_CLINIC_KEY] = str(membership.clinic_id)
            messages.success(request, _("Welcome to %(clinic)s.") % {"clinic": membership.clinic.name})
            if signed_in:
                return redirect("console:home")
            return redirect("console:login")
    return render(request, "console/invitation.html", {
        "invitation": invitation, "form": form, "signed_in": signed_in, "account_exists": account_exists,
        "login_url": _with_next("console:login", request.get_full_path()),
    })


NEW_KEY_SESSION_KEY = "console_new_api_key"


@console_page(roles=[Membership.Role.ADMIN], write=True)
def api_keys(request):
    clinic = request.clinic
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _key, raw = services.api_key_create(
                clinic=clinic, actor=request, name=form.cleaned_data["name"],
                permissions=form.cleaned_data["permissions"], expires_at=form.cleaned_data["expires_at"])
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            # Post/redirect/get, so a reload cannot mint a second key; the session holds the full key only until
            # the very next page view, which shows it once.
            request.session[NEW_KEY_SESSION_KEY] = raw
            return redirect("console:api_keys")
    created_key = request.session.pop(NEW_KEY_SESSION_KEY, None) if request.method == "GET" else None
    response = render(request, "console/api_keys.html", {
        "form": form, "keys": selectors.api_keys_of(clinic).select_related("created_by"),
        "created_key": created_key, "now": timezone.now(),
    }, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@console_page(roles=[Membership.Role.ADMIN], write=True)
def api_key_revoke(request, key_id):
    try:
        key = services.api_key_revoke(clinic=request.clinic, actor=request, key_id=key_id)
    except NotFound:
        raise Http404
    messages.success(request, _("The key “%(name)s” was revoked.") % {"name": key.name})
    return redirect("console:api_keys")


@console_page(roles=[Membership.Role.ADMIN], write=True)
def clinic_settings(request):
    clinic = request.clinic
    initial = {name: getattr(clinic, name) for name in ("name", "slug", "timezone", "locale", "phone", "email",
                                                         "address")}
    form = ClinicSettingsForm(request.POST or None, initial=initial, clinic=clinic)
    if request.method == "POST" and form.is_valid():
        try:
            services.clinic_update(clinic=clinic, actor=request, changes=form.validated)
        except DomainError as error:
            for name, problems in (error.details or {None: [error.message]}).items():
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem)
        else:
            messages.success(request, _("The clinic's settings were saved."))
            return redirect("console:settings")
    return render(request, "console/settings.html", {"form": form}, status=400 if form.errors else 200)
