"""Writes of the clinics app: accounts, sessions, API keys, team and clinic settings. Each is audited.

Every service is keyword-only and runs in one transaction; `actor` is what acts (a request or a Credential,
read by `clinics.audit.record`). Refusals are `clinics.errors.DomainError`s, which every surface and the console
render in their own way.
"""
import zoneinfo
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_otp import devices_for_user

from . import audit, ratelimit, selectors
from .credentials import decode_jwt, issue_jwt, password_stamp_matches, revoke_session_access, revoke_user_oauth_tokens
from .errors import ClinicCode, Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound, RateLimited
from .models import ApiKey, Clinic, DashboardRefreshToken, Invitation, Membership, User, hash_secret
from .phones import InvalidPhoneNumber, normalise_phone

INVITATION_DAYS = 7


def _acting_user(actor):
    """The signed-in person behind `actor` (a request), or None (an API key's service user, the system)."""
    user = getattr(actor, "user", None)
    return user if getattr(user, "pk", None) else None


# --- Accounts and sessions -------------------------------------------------------------------------------


def unique_clinic_slug(name: str, exclude_pk=None) -> str:
    """A slug for the public booking URL, derived from the name and made unique with a counter."""
    base = slugify(name)[:70] or "clinic"
    slug, counter = base, 2
    others = Clinic.objects.exclude(pk=exclude_pk) if exclude_pk else Clinic.objects.all()
    while others.filter(slug=slug).exists():
        slug = f"{base}-{counter}"
        counter += 1
    return slug


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as error:
        raise InvalidInput(None, " ".join(error.messages), {"password": error.messages})


@transaction.atomic
def account_register(*, email: str, password: str, company_name: str, actor=None) -> Membership:
    """Create a user, their clinic and their admin membership; returns the membership (docs/api/dashboard.md,
    Authentication). An e-mail already registered is EMAIL_TAKEN."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        message = _("An account with this e-mail already exists.")
        raise InvalidInput(ClinicCode.EMAIL_TAKEN, message, {"email": [message]})
    user = User(email=email, username=email)
    _validate_password(password, user)
    user.set_password(password)
    user.save()
    clinic = Clinic.objects.create(name=company_name, slug=unique_clinic_slug(company_name), email=email)
    membership = Membership.objects.create(clinic=clinic, user=user, role=Membership.Role.ADMIN)
    audit.record(actor, "account.registered", "clinic", clinic.id, clinic=clinic, actor_kind="user",
                 actor_id=str(user.id), actor_label=email)
    return membership


def _ip_of(actor) -> str | None:
    """The client address of a request (Django's or DRF's) acting, else None (a command, a task)."""
    request = getattr(actor, "_request", actor)
    meta = getattr(request, "META", None) or {}
    return meta.get("REMOTE_ADDR") or None


def sign_in_throttle_check(*, email: str, actor=None, surface: str = "api") -> None:
    """Refuse a sign-in for an account, or from an IP, whose failed attempts are used up (clinics.ratelimit
    ATTEMPT_LIMITS["login"]: 5 per account and 30 per IP in 15 minutes), whatever the password: RateLimited with
    the seconds to wait, audited as auth.login_locked. One counter for the console and `POST /api/auth/login`."""
    email = (email or "").strip().lower()
    exhausted = ratelimit.attempts_exhausted(action="login", account=email, ip=_ip_of(actor))
    if exhausted is None:
        return
    scope, wait = exhausted
    audit.record(actor, "auth.login_locked", "user", "", actor_kind="public", actor_label=email, scope=scope,
                 surface=surface)
    raise RateLimited(_("Too many failed login attempts. Try again in 15 minutes."), retry_after=wait)


def sign_in_attempt_record(*, email: str, succeeded: bool, actor=None) -> None:
    """Count a failed sign-in against the account and the IP, or clear the account's count after a success."""
    email = (email or "").strip().lower()
    if succeeded:
        ratelimit.attempts_clear(action="login", account=email)
    else:
        ratelimit.attempt_count(action="login", account=email, ip=_ip_of(actor))


def password_reset_throttle(*, email: str, actor=None) -> None:
    """Count a password-reset request for the e-mail and the IP, and refuse it (RateLimited) past 3 an hour per
    e-mail or 10 an hour per IP (clinics.ratelimit ATTEMPT_LIMITS["password_reset"]), so nobody floods a mailbox.
    Counted whether or not an account has the e-mail, so the answer tells nothing about who is registered."""
    email = (email or "").strip().lower()
    ip = _ip_of(actor)
    exhausted = ratelimit.attempts_exhausted(action="password_reset", account=email, ip=ip)
    if exhausted is not None:
        scope, wait = exhausted
        audit.record(actor, "auth.password_reset_limited", "user", "", actor_kind="public", actor_label=email,
                     scope=scope)
        raise RateLimited(_("Too many password-reset requests. Try again later."), retry_after=wait)
    ratelimit.attempt_count(action="password_reset", account=email, ip=ip)


def _mint(membership: Membership, session_id) -> dict:
    jti = secrets.token_hex(16)
    refresh, refresh_expires = issue_jwt(membership, "refresh", session_id=session_id, jti=jti)
    DashboardRefreshToken.objects.create(jti=jti, session_id=session_id, membership=membership,
                                         expires_at=refresh_expires)
    access, _expires = issue_jwt(membership, "access", session_id=session_id)
    return {"access_token": access, "token_type": "bearer", "refresh_token": refresh,
            "expires_in": settings.JWT_ACCESS_MINUTES * 60}


@transaction.atomic
def session_start(*, membership: Membership) -> dict:
    """Issue an access token (30 min) and a revocable refresh token (7 days) for a new login."""
    return _mint(membership, uuid.uuid4())


# Other apps' tests sign in through this name; new code calls session_start.
def start_session(membership: Membership) -> dict:
    return session_start(membership=membership)


def second_factor_verify(*, user: User, code: str | None):
    """The second factor of a user who passed the password step, the one check of every sign-in surface (the
    console's code step, `POST /api/auth/login`): returns the confirmed TOTP device the code matches, or None for
    a user without one. A user with a confirmed device and no valid code is refused with NotAuthenticated coded
    SECOND_FACTOR_REQUIRED (django-otp throttles wrong codes and refuses a code used twice)."""
    devices = list(devices_for_user(user, confirmed=True))
    if not devices:
        return None
    code = str(code or "").strip()
    device = next((device for device in devices if code and device.verify_token(code)), None)
    if device is None:
        message = _("A valid code from your authenticator app is required.") if code else \
            _("This account uses two-factor authentication: send the code from your authenticator app as otp.")
        raise NotAuthenticated(ClinicCode.SECOND_FACTOR_REQUIRED, message, {"otp": [message]})
    return device


def session_login(*, email: str, password: str, clinic_id=None, otp: str | None = None,
                  actor=None) -> tuple[Membership, dict]:
    """Check a member's password, then their second factor when they have one (`otp`, docs/api/dashboard.md,
    Authentication), pick the clinic (given, else the oldest membership) and start a session; returns
    (membership, tokens). Wrong credentials are NotAuthenticated; a missing or wrong code of a user with a
    confirmed authenticator is NotAuthenticated coded SECOND_FACTOR_REQUIRED and counts as a failure; once the
    account's or the IP's failures are used up (`sign_in_throttle_check`, shared with the console) every attempt is
    RateLimited until the window ends."""
    email = (email or "").strip().lower()
    sign_in_throttle_check(email=email, actor=actor)
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        User().set_password(password)  # spend the same time as a real check: no user enumeration by timing
    membership = None
    if user is not None and user.check_password(password):
        memberships = selectors.memberships_of(user)
        membership = memberships.filter(clinic_id=clinic_id).first() if clinic_id else memberships.first()
    refusal = None if membership is not None else NotAuthenticated(message=_("Invalid credentials"))
    if refusal is None:
        try:
            second_factor = second_factor_verify(user=user, code=otp)
        except NotAuthenticated as error:
            refusal = error
    if refusal is not None:
        sign_in_attempt_record(email=email, succeeded=False, actor=actor)
        # Attach the failure to the person's clinic so its admins see attacks on their accounts.
        first = selectors.memberships_of(user).first() if user is not None else None
        audit.record(actor, "auth.login_failed", "user", user.id if user else "", actor_kind="public",
                     actor_label=email, clinic=first.clinic if first else None, reason=refusal.code)
        raise refusal
    sign_in_attempt_record(email=email, succeeded=True, actor=actor)
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
        tokens = _mint(membership, uuid.uuid4())
        audit.record(actor, "auth.login", "user", user.id, clinic=membership.clinic, actor_kind="user",
                     actor_id=str(user.id), actor_label=user.email,
                     second_factor="totp" if second_factor is not None else "")
    return membership, tokens


def session_refresh(*, refresh_token: str) -> dict:
    """Trade a refresh token for a new pair; the old refresh token stops working (rotation).

    Presenting a refresh token that was already rotated revokes its whole session.
    """
    payload = decode_jwt(refresh_token, "refresh")
    now = timezone.now()
    with transaction.atomic():
        record = (DashboardRefreshToken.objects.select_for_update()
                  .select_related("membership__clinic", "membership__user")
                  .filter(jti=payload.get("jti", "")).first())
        if record is not None and record.revoked_at is None and record.expires_at > now \
                and record.rotated_at is None and password_stamp_matches(payload, record.membership.user):
            record.rotated_at = now
            record.save(update_fields=["rotated_at"])
            return _mint(record.membership, record.session_id)
    if record is not None and record.rotated_at is not None:
        _revoke_session(record.session_id)
    raise NotAuthenticated(message=_("Invalid or revoked refresh token."))


def _revoke_session(session_id) -> None:
    DashboardRefreshToken.objects.filter(session_id=session_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now())
    revoke_session_access(session_id)


@transaction.atomic
def user_credentials_revoke(*, user: User, actor=None, reason: str = "password_reset") -> int:
    """End every login of `user` on every surface: dashboard refresh tokens revoked, their access tokens refused
    at once, OAuth tokens revoked (a password reset: whoever held a token may be who stole the password). Console
    sessions end by themselves, bound to the password hash. Audited; returns how many dashboard logins ended."""
    records = DashboardRefreshToken.objects.filter(membership__user=user, revoked_at__isnull=True)
    session_ids = set(records.values_list("session_id", flat=True))
    records.update(revoked_at=timezone.now())
    for session_id in session_ids:
        revoke_session_access(session_id)
    oauth_tokens = revoke_user_oauth_tokens(user)
    first = selectors.memberships_of(user).first()
    audit.record(actor, "auth.credentials_revoked", "user", user.pk, clinic=first.clinic if first else None,
                 actor_kind="user", actor_id=str(user.pk), actor_label=user.email, reason=reason,
                 sessions=len(session_ids), oauth_tokens=oauth_tokens)
    return len(session_ids)


def refresh_token_purge(*, older_than_days: int = 1) -> int:
    """Delete refresh-token records that expired more than `older_than_days` ago; returns how many."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _by_model = DashboardRefreshToken.objects.filter(expires_at__lt=cutoff).delete()
    return deleted


@transaction.atomic
def session_logout(*, actor, refresh_token: str | None = None) -> None:
    """End the caller's login: its refresh tokens are revoked and its access tokens stop working."""
    credential = getattr(actor, "auth", None)
    user = getattr(actor, "user", None)
    session_id = credential.extra.get("sid") if credential is not None else None
    if refresh_token:
        try:
            payload = decode_jwt(refresh_token, "refresh")
        except NotAuthenticated:
            payload = {}
        if payload.get("sub") == str(getattr(user, "pk", "")) and payload.get("sid"):
            _revoke_session(payload["sid"])
    if session_id:
        _revoke_session(session_id)
    audit.record(actor, "auth.logout", "user", getattr(user, "pk", ""))


# --- API keys ---------------------------------------------------------------------------------------------


@transaction.atomic
def api_key_create(*, clinic: Clinic, actor, name: str, permissions=ApiKey.FULL_ACCESS,
                   expires_at=None) -> tuple[ApiKey, str]:
    """Issue a key for `clinic`; returns (key, full_key). The full key is never stored. `pii` (decrypted
    personal data, docs/api/README.md "API key permissions") needs `read` or `write` beside it."""
    permissions = sorted(set(permissions))
    if not permissions or not set(permissions) <= set(ApiKey.FULL_ACCESS) or permissions == ["pii"]:
        raise InvalidInput.on("permissions", _("Permissions must be read and/or write, optionally with pii."))
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput.on("expires_at", _("The expiry must be in the future."))
    key, raw = ApiKey.issue(clinic, name, permissions=permissions, created_by=_acting_user(actor),
                            expires_at=expires_at)
    audit.record(actor, "api_key.created", "api_key", key.id, clinic=clinic, name=name, permissions=permissions)
    return key, raw


@transaction.atomic
def api_key_revoke(*, clinic: Clinic, actor, key_id) -> ApiKey:
    """Revoke one of `clinic`'s keys; it stops authenticating on the next request. Another clinic's is NotFound."""
    key = ApiKey.objects.for_clinic(clinic).select_for_update().filter(pk=key_id).first()
    if key is None:
        raise NotFound(None, _("API key not found"))
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(actor, "api_key.revoked", "api_key", key.id, clinic=clinic, name=key.name)
    return key


# --- Team -------------------------------------------------------------------------------------------------


def invitation_create(*, clinic: Clinic, actor, email: str, role: str) -> tuple[Invitation, str]:
    """Invite someone to `clinic` by e-mail; returns (invitation, raw token).

    The token is single-use, expires after seven days and is stored only as a digest. The e-mail carries the
    console's accept URL `/invite/<token>`, and is sent once the invitation is committed.
    """
    email = User.objects.normalize_email(email).lower()
    if role not in Membership.Role.values:
        raise InvalidInput.on("role", _("Unknown role."))
    if Membership.objects.for_clinic(clinic).filter(user__email__iexact=email).exists():
        raise Conflict(ClinicCode.ALREADY_MEMBER, _("This person is already a member of the clinic."))
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        # A new invitation replaces any earlier pending one for the same address.
        selectors.pending_invitations(clinic).filter(email__iexact=email).update(revoked_at=timezone.now())
        invitation = Invitation.objects.create(
            clinic=clinic, email=email, role=role, digest=hash_secret(raw), invited_by=_acting_user(actor),
            expires_at=timezone.now() + timedelta(days=INVITATION_DAYS))
        audit.record(actor, "membership.invited", "invitation", invitation.id, clinic=clinic, email=email,
                     role=role)
    accept_url = f"{settings.SITE_URL.rstrip('/')}/invite/{raw}"
    send_mail(
        subject=_("You are invited to join %(clinic)s on Frontdesk") % {"clinic": clinic.name},
        message=_("You have been invited to join %(clinic)s as %(role)s.\n\nAccept the invitation: %(url)s\n\n"
                  "This link works once and expires in %(days)d days.") % {
            "clinic": clinic.name, "role": invitation.get_role_display(), "url": accept_url,
            "days": INVITATION_DAYS},
        from_email=None, recipient_list=[email])
    return invitation, raw


@transaction.atomic
def invitation_accept(*, token: str, user: User | None = None, password: str | None = None,
                      actor=None) -> Membership:
    """Turn an invitation token into a membership and burn the token.

    Either `user` (the signed-in person, whose e-mail must be the invited one) or `password` (creates the
    account of the invited e-mail; refused if that account already exists — sign in first) must be given.
    An unknown, used, revoked or expired token is INVITATION_INVALID.
    """
    invitation = (Invitation.objects.select_for_update().select_related("clinic")
                  .filter(digest=hash_secret(token or "")).first())
    if invitation is None or not invitation.is_pending:
        raise NotFound(ClinicCode.INVITATION_INVALID, _("This invitation is invalid or has expired."))
    if user is not None and getattr(user, "pk", None):
        if user.email.lower() != invitation.email.lower():
            raise Forbidden(ClinicCode.INVITATION_EMAIL_MISMATCH,
                            _("This invitation was sent to another e-mail address."))
    else:
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise Conflict(ClinicCode.ACCOUNT_EXISTS, _("An account with this e-mail exists: sign in to accept."))
        if not password:
            raise InvalidInput.on("password", _("A password is required."))
        user = User(email=invitation.email, username=invitation.email)
        _validate_password(password, user)
        user.set_password(password)
        user.save()
    try:
        with transaction.atomic():
            membership = Membership.objects.create(clinic=invitation.clinic, user=user, role=invitation.role)
    except IntegrityError:
        raise Conflict(ClinicCode.ALREADY_MEMBER, _("This person is already a member of the clinic."))
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit.record(actor, "membership.created", "membership", membership.id, clinic=invitation.clinic,
                 actor_kind="user", actor_id=str(user.pk), actor_label=user.email, role=invitation.role,
                 invitation=str(invitation.id))
    return membership


@transaction.atomic
def member_remove(*, clinic: Clinic, actor, member_id) -> None:
    """Remove a membership (or cancel a pending invitation) of `clinic`; the last admin stays (LAST_ADMIN).
    Another clinic's member or invitation is NotFound and stays untouched."""
    # Lock the clinic's admins so two concurrent removals cannot both pass the last-admin check.
    admins = list(Membership.objects.for_clinic(clinic).select_for_update().filter(role=Membership.Role.ADMIN)
                  .values_list("id", flat=True))
    membership = Membership.objects.for_clinic(clinic).filter(pk=member_id).select_related("user").first()
    if membership is None:
        invitation = selectors.pending_invitations(clinic).filter(pk=member_id).first()
        if invitation is None:
            raise NotFound(None, _("Team member not found"))
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit.record(actor, "membership.invitation_revoked", "invitation", invitation.id, clinic=clinic,
                     email=invitation.email)
        return
    if membership.role == Membership.Role.ADMIN and admins == [membership.id]:
        raise Conflict(ClinicCode.LAST_ADMIN, _("The last admin of a clinic cannot be removed."))
    DashboardRefreshToken.objects.filter(membership=membership, revoked_at__isnull=True).update(
        revoked_at=timezone.now())
    Membership.objects.filter(pk=membership.pk).delete()  # read above through for_clinic(clinic)
    audit.record(actor, "membership.removed", "membership", member_id, clinic=clinic, email=membership.user.email,
                 role=membership.role)


# --- Settings ---------------------------------------------------------------------------------------------


def notification_settings_update(*, membership: Membership, changes: dict, actor=None) -> dict:
    """Merge a partial update into a member's notification preferences and return them as stored; unknown
    groups or names and non-boolean values are refused (nothing is saved then)."""
    errors = {}
    if not isinstance(changes, dict):
        raise InvalidInput.on("non_field_errors", _("Expected an object."))
    for group, options in changes.items():
        known = selectors.NOTIFICATION_DEFAULTS.get(group)
        if known is None or not isinstance(options, dict):
            errors[str(group)[:100]] = [_("Unknown notification group.") if known is None else _("Must be an object.")]
            continue
        for name, value in options.items():
            if name not in known:
                errors[f"{group}.{str(name)[:100]}"] = [_("Unknown notification.")]
            elif not isinstance(value, bool):
                errors[f"{group}.{name}"] = [_("Must be true or false.")]
    if errors:
        raise InvalidInput(None, next(iter(errors.values()))[0], errors)
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)  # the member's own row
        stored = dict(membership.notification_settings or {})
        for group, options in changes.items():
            stored[group] = {**(stored.get(group) or {}), **options}
        membership.notification_settings = stored
        membership.save(update_fields=["notification_settings"])
        audit.record(actor, "membership.notifications_updated", "membership", membership.pk,
                     clinic=membership.clinic, groups=sorted(changes))
    return selectors.notification_settings(membership)


CLINIC_FIELDS = ("name", "slug", "timezone", "locale", "phone", "email", "address", "kind", "voice_settings",
                 "booking_rules")


def _checked_clinic_changes(clinic: Clinic, changes: dict) -> dict:
    """The rules every edge shares for a clinic's own details: an IANA time zone, a supported locale, a valid
    phone (stored E.164) and a slug no other clinic uses. Raises InvalidInput naming the fields."""
    changes = dict(changes)
    problems = {}
    if "timezone" in changes and changes["timezone"] not in zoneinfo.available_timezones():
        problems["timezone"] = [_("Unknown time zone: use an IANA name such as Europe/Lisbon.")]
    if "locale" in changes:
        changes["locale"] = str(changes["locale"] or "").lower()
        if changes["locale"] not in {code for code, _name in settings.LANGUAGES}:
            problems["locale"] = [_("Unsupported locale.")]
    if changes.get("phone"):
        try:
            changes["phone"] = normalise_phone(changes["phone"])
        except InvalidPhoneNumber:
            problems["phone"] = [_("Enter a valid phone number in E.164 format, e.g. +351912345678.")]
    if "slug" in changes and Clinic.objects.filter(slug=changes["slug"]).exclude(pk=clinic.pk).exists():
        problems["slug"] = [_("This slug is already used by another clinic.")]
    if problems:
        raise InvalidInput(None, next(iter(problems.values()))[0], problems)
    return changes


def clinic_update(*, clinic: Clinic, actor, changes: dict) -> Clinic:
    """Apply changes to `clinic` and audit which fields changed (docs/api/clinic-v1.md, Tenants). Refuses an
    unknown time zone or locale, an invalid phone and a slug another clinic uses (InvalidInput naming the field;
    SLUG_TAKEN when another clinic takes it at the same moment)."""
    changes = _checked_clinic_changes(clinic, changes)
    changed = [name for name in CLINIC_FIELDS if name in changes and getattr(clinic, name) != changes[name]]
    if not changed:
        return clinic
    for name in changed:
        setattr(clinic, name, changes[name])
    try:
        with transaction.atomic():
            clinic.save(update_fields=changed)
            audit.record(actor, "clinic.updated", "clinic", clinic.id, clinic=clinic, fields=changed)
    except IntegrityError:
        message = _("This slug is already used by another clinic.")
        raise Conflict(ClinicCode.SLUG_TAKEN, message, {"slug": [message]})
    return clinic
