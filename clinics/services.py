"""Writes of the clinics app: accounts, sessions, API keys, team and clinic settings. Each is audited.

Services raise `ApiError` (status, machine code, message) which every surface and the console can show.
"""
import hashlib
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from rest_framework import exceptions

from config.surfaces.errors import ApiError

from . import audit, selectors
from .api.authentication import decode_jwt, issue_jwt, revoke_session_access
from .models import ApiKey, Clinic, DashboardRefreshToken, Invitation, Membership, User, hash_secret

LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW_SECONDS = 15 * 60
INVITATION_DAYS = 7


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
        raise ApiError(400, "VALIDATION_ERROR", " ".join(error.messages), {"password": error.messages})


@transaction.atomic
def register(email: str, password: str, company_name: str, request=None) -> Membership:
    """Create a user, their clinic and their admin membership; returns the membership."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ApiError(400, "EMAIL_TAKEN", _("An account with this e-mail already exists."),
                       {"email": [_("An account with this e-mail already exists.")]})
    user = User(email=email, username=email)
    _validate_password(password, user)
    user.set_password(password)
    user.save()
    clinic = Clinic.objects.create(name=company_name, slug=unique_clinic_slug(company_name), email=email)
    membership = Membership.objects.create(clinic=clinic, user=user, role=Membership.Role.ADMIN)
    audit.record(request, "account.registered", "clinic", clinic.id, clinic=clinic, actor_kind="user",
                 actor_id=str(user.id), actor_label=email)
    return membership


def _failure_key(email: str) -> str:
    return "auth:login-failures:" + hashlib.sha256(email.lower().encode()).hexdigest()


def login(email: str, password: str, clinic_id=None, request=None) -> Membership:
    """Check a member's password and pick the clinic (given, else the oldest membership).

    After five failures for one e-mail within 15 minutes every attempt is refused with 429 until the window ends.
    """
    email = (email or "").strip().lower()
    key = _failure_key(email)
    failures = cache.get(key, 0)
    if failures >= LOGIN_MAX_FAILURES:
        audit.record(request, "auth.login_locked", "user", "", actor_kind="public", actor_label=email)
        error = exceptions.Throttled(detail=_("Too many failed login attempts. Try again in 15 minutes."))
        error.wait = cache.ttl(key) if hasattr(cache, "ttl") else LOGIN_WINDOW_SECONDS
        raise error
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        User().set_password(password)  # spend the same time as a real check: no user enumeration by timing
    membership = None
    if user is not None and user.check_password(password):
        memberships = selectors.memberships_of(user)
        membership = memberships.filter(clinic_id=clinic_id).first() if clinic_id else memberships.first()
    if membership is None:
        cache.add(key, 0, timeout=LOGIN_WINDOW_SECONDS)
        cache.incr(key)
        # Attach the failure to the person's clinic so its admins see attacks on their accounts.
        first = selectors.memberships_of(user).first() if user is not None else None
        audit.record(request, "auth.login_failed", "user", user.id if user else "", actor_kind="public",
                     actor_label=email, clinic=first.clinic if first else None)
        raise exceptions.AuthenticationFailed(_("Invalid credentials"))
    cache.delete(key)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    audit.record(request, "auth.login", "user", user.id, clinic=membership.clinic, actor_kind="user",
                 actor_id=str(user.id), actor_label=user.email)
    return membership


def _mint(membership: Membership, session_id) -> dict:
    jti = secrets.token_hex(16)
    refresh, refresh_expires = issue_jwt(membership, "refresh", session_id=session_id, jti=jti)
    DashboardRefreshToken.objects.create(jti=jti, session_id=session_id, membership=membership,
                                         expires_at=refresh_expires)
    access, _expires = issue_jwt(membership, "access", session_id=session_id)
    return {"access_token": access, "token_type": "bearer", "refresh_token": refresh,
            "expires_in": settings.JWT_ACCESS_MINUTES * 60}


def start_session(membership: Membership) -> dict:
    """Issue an access token (30 min) and a revocable refresh token (7 days) for a new login."""
    return _mint(membership, uuid.uuid4())


def refresh_session(refresh_token: str) -> dict:
    """Trade a refresh token for a new pair; the old refresh token stops working (rotation).

    Presenting a refresh token that was already rotated revokes its whole session.
    """
    payload = decode_jwt(refresh_token, "refresh")
    now = timezone.now()
    with transaction.atomic():
        record = (DashboardRefreshToken.objects.select_for_update().select_related("membership__clinic")
                  .filter(jti=payload.get("jti", "")).first())
        if record is not None and record.revoked_at is None and record.expires_at > now \
                and record.rotated_at is None:
            record.rotated_at = now
            record.save(update_fields=["rotated_at"])
            return _mint(record.membership, record.session_id)
    if record is not None and record.rotated_at is not None:
        _revoke_session(record.session_id)
    raise exceptions.AuthenticationFailed(_("Invalid or revoked refresh token."))


def _revoke_session(session_id) -> None:
    DashboardRefreshToken.objects.filter(session_id=session_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now())
    revoke_session_access(session_id)


def purge_refresh_tokens(older_than_days: int = 1) -> int:
    """Delete refresh-token records that expired more than `older_than_days` ago; returns how many."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _by_model = DashboardRefreshToken.objects.filter(expires_at__lt=cutoff).delete()
    return deleted


def logout(request, refresh_token: str | None = None) -> None:
    """End the caller's login: its refresh tokens are revoked and its access tokens stop working."""
    credential = request.auth
    session_id = credential.extra.get("sid") if credential is not None else None
    if refresh_token:
        try:
            payload = decode_jwt(refresh_token, "refresh")
        except exceptions.AuthenticationFailed:
            payload = {}
        if payload.get("sub") == str(request.user.pk) and payload.get("sid"):
            _revoke_session(payload["sid"])
    if session_id:
        _revoke_session(session_id)
    audit.record(request, "auth.logout", "user", getattr(request.user, "pk", ""))


# --- API keys ---------------------------------------------------------------------------------------------


def create_api_key(request, name: str, permissions=("read", "write"), expires_at=None) -> tuple[ApiKey, str]:
    """Issue a key for the caller's clinic; returns (key, full_key). The full key is never stored."""
    permissions = sorted(set(permissions))
    if not permissions or not set(permissions) <= {"read", "write"}:
        raise ApiError(400, "VALIDATION_ERROR", _("Permissions must be read and/or write."),
                       {"permissions": [_("Permissions must be read and/or write.")]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ApiError(400, "VALIDATION_ERROR", _("The expiry must be in the future."),
                       {"expires_at": [_("The expiry must be in the future.")]})
    user = request.user if getattr(request.user, "pk", None) else None
    key, raw = ApiKey.issue(request.auth.clinic, name, permissions=permissions, created_by=user,
                            expires_at=expires_at)
    audit.record(request, "api_key.created", "api_key", key.id, name=name, permissions=permissions)
    return key, raw


def revoke_api_key(request, key_id) -> ApiKey:
    """Revoke one of the caller's clinic's keys; it stops authenticating on the next request."""
    key = ApiKey.objects.filter(clinic=request.auth.clinic, pk=key_id).first()
    if key is None:
        raise ApiError(404, "NOT_FOUND", _("API key not found"))
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(request, "api_key.revoked", "api_key", key.id, name=key.name)
    return key


# --- Team -------------------------------------------------------------------------------------------------


def invite_member(request, email: str, role: str) -> tuple[Invitation, str]:
    """Invite someone to the caller's clinic by e-mail; returns (invitation, raw token).

    The token is single-use, expires after seven days and is stored only as a digest. The e-mail carries the
    console's accept URL `/invite/<token>`.
    """
    clinic = request.auth.clinic
    email = User.objects.normalize_email(email).lower()
    if role not in Membership.Role.values:
        raise ApiError(400, "VALIDATION_ERROR", _("Unknown role."), {"role": [_("Unknown role.")]})
    if Membership.objects.filter(clinic=clinic, user__email__iexact=email).exists():
        raise ApiError(409, "ALREADY_MEMBER", _("This person is already a member of the clinic."))
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        # A new invitation replaces any earlier pending one for the same address.
        selectors.pending_invitations(clinic).filter(email__iexact=email).update(revoked_at=timezone.now())
        invitation = Invitation.objects.create(
            clinic=clinic, email=email, role=role, digest=hash_secret(raw),
            invited_by=request.user if getattr(request.user, "pk", None) else None,
            expires_at=timezone.now() + timedelta(days=INVITATION_DAYS))
        audit.record(request, "membership.invited", "invitation", invitation.id, email=email, role=role)
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
def accept_invitation(token: str, *, user: User | None = None, password: str | None = None,
                      request=None) -> Membership:
    """Turn an invitation token into a membership and burn the token.

    Either `user` (the signed-in person, whose e-mail must be the invited one) or `password` (creates the
    account of the invited e-mail; refused if that account already exists — sign in first) must be given.
    Raises ApiError 404 INVITATION_INVALID for an unknown, used, revoked or expired token.
    """
    invitation = (Invitation.objects.select_for_update().select_related("clinic")
                  .filter(digest=hash_secret(token or "")).first())
    if invitation is None or not invitation.is_pending:
        raise ApiError(404, "INVITATION_INVALID", _("This invitation is invalid or has expired."))
    if user is not None and getattr(user, "pk", None):
        if user.email.lower() != invitation.email.lower():
            raise ApiError(403, "INVITATION_EMAIL_MISMATCH",
                           _("This invitation was sent to another e-mail address."))
    else:
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise ApiError(409, "ACCOUNT_EXISTS", _("An account with this e-mail exists: sign in to accept."))
        if not password:
            raise ApiError(400, "VALIDATION_ERROR", _("A password is required."),
                           {"password": [_("A password is required.")]})
        user = User(email=invitation.email, username=invitation.email)
        _validate_password(password, user)
        user.set_password(password)
        user.save()
    try:
        with transaction.atomic():
            membership = Membership.objects.create(clinic=invitation.clinic, user=user, role=invitation.role)
    except IntegrityError:
        raise ApiError(409, "ALREADY_MEMBER", _("This person is already a member of the clinic."))
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit.record(request, "membership.created", "membership", membership.id, clinic=invitation.clinic,
                 actor_kind="user", actor_id=str(user.pk), actor_label=user.email, role=invitation.role,
                 invitation=str(invitation.id))
    return membership


@transaction.atomic
def remove_member(request, member_id) -> None:
    """Remove a membership (or cancel a pending invitation) of the caller's clinic; the last admin stays."""
    clinic = request.auth.clinic
    # Lock the clinic's admins so two concurrent removals cannot both pass the last-admin check.
    admins = list(Membership.objects.select_for_update().filter(clinic=clinic, role=Membership.Role.ADMIN)
                  .values_list("id", flat=True))
    membership = Membership.objects.filter(clinic=clinic, pk=member_id).select_related("user").first()
    if membership is None:
        invitation = selectors.pending_invitations(clinic).filter(pk=member_id).first()
        if invitation is None:
            raise ApiError(404, "NOT_FOUND", _("Team member not found"))
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit.record(request, "membership.invitation_revoked", "invitation", invitation.id, email=invitation.email)
        return
    if membership.role == Membership.Role.ADMIN and admins == [membership.id]:
        raise ApiError(409, "LAST_ADMIN", _("The last admin of a clinic cannot be removed."))
    DashboardRefreshToken.objects.filter(membership=membership, revoked_at__isnull=True).update(
        revoked_at=timezone.now())
    membership.delete()
    audit.record(request, "membership.removed", "membership", member_id, email=membership.user.email,
                 role=membership.role)


# --- Settings ---------------------------------------------------------------------------------------------


def update_notification_settings(membership: Membership, changes: dict) -> dict:
    """Merge a partial update into a member's notification preferences; unknown keys are refused."""
    errors = {}
    for group, options in changes.items():
        known = selectors.NOTIFICATION_DEFAULTS.get(group)
        if known is None or not isinstance(options, dict):
            errors[group] = [_("Unknown notification group.") if known is None else _("Must be an object.")]
            continue
        for name, value in options.items():
            if name not in known:
                errors[f"{group}.{name}"] = [_("Unknown notification.")]
            elif not isinstance(value, bool):
                errors[f"{group}.{name}"] = [_("Must be true or false.")]
    if errors:
        raise ApiError(400, "VALIDATION_ERROR", next(iter(errors.values()))[0], errors)
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        stored = membership.notification_settings or {}
        for group, options in changes.items():
            stored.setdefault(group, {}).update(options)
        membership.notification_settings = stored
        membership.save(update_fields=["notification_settings"])
    return selectors.notification_settings(membership)


CLINIC_FIELDS = ("name", "slug", "timezone", "locale", "phone", "email", "address", "kind", "voice_settings",
                 "booking_rules")


def update_clinic(request, changes: dict) -> Clinic:
    """Apply validated changes to the caller's clinic and audit which fields changed."""
    clinic = request.auth.clinic
    changed = [name for name in CLINIC_FIELDS if name in changes and getattr(clinic, name) != changes[name]]
    if not changed:
        return clinic
    for name in changed:
        setattr(clinic, name, changes[name])
    try:
        with transaction.atomic():
            clinic.save(update_fields=changed)
    except IntegrityError:
        raise ApiError(409, "SLUG_TAKEN", _("This slug is already used by another clinic."),
                       {"slug": [_("This slug is already used by another clinic.")]})
    audit.record(request, "clinic.updated", "clinic", clinic.id, fields=changed)
    return clinic
