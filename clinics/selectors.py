"""Reads of the clinics app: who belongs where, what a member may do, and the account summary the dashboard shows."""
from django.db.models import QuerySet
from django.utils import timezone

from . import extensions
from .models import ApiKey, AuditEvent, Clinic, Invitation, Membership, User, hash_secret

NOTIFICATION_DEFAULTS = {
    "email_notifications": {"new_conversation": True, "appointment_booked": True, "usage_limit_warning": True,
                            "payment_failed": True, "weekly_summary": True},
    "sms_notifications": {"critical_alerts": True},
}


def memberships_of(user: User) -> QuerySet:
    """The clinics a user belongs to, oldest membership first (the default clinic at login)."""
    return Membership.objects.filter(user=user).select_related("clinic").order_by("joined_at", "id")


def team_members(clinic: Clinic) -> QuerySet:
    """Members of a clinic with their users, in joining order."""
    return Membership.objects.for_clinic(clinic).select_related("user").order_by("joined_at", "id")


def pending_invitations(clinic: Clinic) -> QuerySet:
    """Invitations of a clinic that can still be accepted."""
    return Invitation.objects.for_clinic(clinic).filter(accepted_at__isnull=True, revoked_at__isnull=True,
                                     expires_at__gt=timezone.now())


def invitation_for_token(token: str) -> Invitation | None:
    """The pending invitation a raw token names, or None (unknown, used, revoked or expired)."""
    invitation = Invitation.objects.select_related("clinic").filter(digest=hash_secret(token or "")).first()
    return invitation if invitation is not None and invitation.is_pending else None


def api_keys_of(clinic: Clinic) -> QuerySet:
    """A clinic's keys, newest first, revoked ones included (the console shows them struck through)."""
    return ApiKey.objects.for_clinic(clinic).order_by("-created_at")


def plan_of(clinic: Clinic) -> str:
    """The clinic's plan name (billing's subscription, registered in clinics.extensions; else the free tier)."""
    return extensions.plan_summary(clinic).name


def subscription_status_of(clinic: Clinic) -> str:
    return extensions.plan_summary(clinic).status


def features_of(clinic: Clinic) -> dict:
    """What the clinic's plan allows (limits the dashboard shows and the API enforces)."""
    return dict(extensions.plan_summary(clinic).features)


def agent_summary(clinic: Clinic) -> dict | None:
    """The clinic's phone agent as the dashboard login shows it (telephony's, registered in clinics.extensions)."""
    return extensions.agent_summary(clinic)


def notification_settings(membership: Membership) -> dict:
    """A member's notification preferences: the stored choices over the defaults."""
    stored = membership.notification_settings or {}
    return {group: {name: bool(stored.get(group, {}).get(name, default)) for name, default in options.items()}
            for group, options in NOTIFICATION_DEFAULTS.items()}


def audit_events(clinic: Clinic) -> QuerySet:
    """The clinic's audit log, newest first."""
    return AuditEvent.objects.for_clinic(clinic)
