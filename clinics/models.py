"""Tenants (clinics), the people who work in them, and the credentials that act for them."""
import hashlib
import secrets
import uuid

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone as django_timezone
from django.utils.translation import gettext_lazy as _

from .tenancy import ClinicOwned, ClinicQuerySet


class EmailUserManager(UserManager):
    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("username", email.lower())
        return super().create_user(email=email.lower(), password=password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("username", email.lower())
        return super().create_superuser(email=email.lower(), password=password, **extra_fields)


class User(AbstractUser):
    """A person who signs in. Clinic members reach clinics through Membership; support staff have is_staff."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(_("e-mail"), unique=True)

    # Support staff (is_staff, not clinic members) see these clinics in Django admin; superusers see all.
    support_clinics = models.ManyToManyField("Clinic", blank=True, related_name="support_staff")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["username"]
    objects = EmailUserManager()


class Clinic(models.Model):
    """One tenant. Every domain row hangs off a clinic."""

    class Kind(models.TextChoices):
        HUMAN = "human", _("Human health")
        VETERINARY = "veterinary", _("Veterinary")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.HUMAN)
    timezone = models.CharField(max_length=64, default="Europe/Lisbon")
    locale = models.CharField(max_length=10, default="pt-pt")
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    address = models.CharField(max_length=300, blank=True)
    voice_settings = models.JSONField(default=dict, blank=True)
    booking_rules = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=django_timezone.now)

    class Meta:
        ordering = ["name"]
        # Support staff read clinics' personal data in Django admin masked, as the console's viewers do, unless a
        # superuser grants them this (clinics/admin_pii.py).
        permissions = [("read_pii", "Can read personal data unmasked in Django admin")]

    def __str__(self):
        return self.name


class Membership(ClinicOwned):
    """A user's role in one clinic."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Admin")
        EDITOR = "editor", _("Editor")
        VIEWER = "viewer", _("Viewer")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    joined_at = models.DateTimeField(default=django_timezone.now)
    notification_settings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["joined_at"]
        constraints = [models.UniqueConstraint(fields=["clinic", "user"], name="membership_unique_clinic_user")]

    def __str__(self):
        return f"{self.user} @ {self.clinic} ({self.role})"


def hash_secret(raw: str) -> str:
    """Keys are 256-bit random strings, so a plain SHA-256 is a safe, indexable digest."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKeyQuerySet(ClinicQuerySet):
    def usable(self):
        now = django_timezone.now()
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiKey(ClinicOwned):
    """A clinic's key for integrations; only its digest is stored, the full key is shown once."""

    PREFIX = "fd_live_"

    class Permission(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Write")
        # Decrypted personal data (names, phones, e-mails, transcripts); without it the API masks them.
        PII = "pii", _("Read personal data")

    FULL_ACCESS = ("pii", "read", "write")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="api_keys")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=120)
    digest = models.CharField(max_length=64, unique=True)
    preview = models.CharField(max_length=40)
    permissions = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=django_timezone.now)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.preview})"

    @classmethod
    def issue(cls, clinic, name, permissions=FULL_ACCESS, created_by=None, expires_at=None):
        """Create a key and return (key, full_key); the full key is not kept anywhere."""
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            clinic=clinic, name=name, digest=hash_secret(raw), preview=f"{raw[:11]}...{raw[-3:]}",
            permissions=sorted(set(permissions)), created_by=created_by, expires_at=expires_at,
        )
        return key, raw


class DashboardRefreshToken(models.Model):
    """A refresh token of the dashboard API, known by its JWT id so logout and rotation can revoke it.

    All tokens minted from one login share `session_id`; presenting an already-rotated token revokes the
    whole session, since only a thief would replay it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    jti = models.CharField(max_length=64, unique=True)
    session_id = models.UUIDField(db_index=True)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="refresh_tokens")
    expires_at = models.DateTimeField()
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=django_timezone.now)

    def __str__(self):
        return f"refresh {self.jti[:8]} for {self.membership}"


class Invitation(ClinicOwned):
    """An invitation to join a clinic; the token is single-use, expires, and only its digest is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.VIEWER)
    digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=django_timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.email} → {self.clinic} ({self.role})"

    @property
    def is_pending(self):
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > django_timezone.now()


class AuditEventQuerySet(ClinicQuerySet):
    def update(self, **kwargs):
        raise AuditEvent.Immutable(_("Audit events cannot be changed."))

    def delete(self):
        raise AuditEvent.Immutable(_("Audit events cannot be deleted."))


class AuditEvent(ClinicOwned):
    """One append-only line of the RGPD audit log: who did what to which object, when, from where and why.

    A database trigger (migration 0003) refuses UPDATE and DELETE as well, so not even raw SQL edits history.
    The clinic is a loose reference: the log outlives the tenant it describes.
    """

    class Immutable(Exception):
        pass

    class ActorKind(models.TextChoices):
        USER = "user", _("User")
        KEY = "key", _("API key")
        OAUTH = "oauth", _("OAuth token")
        AGENT = "agent", _("Voice agent")
        SYSTEM = "system", _("System")
        PUBLIC = "public", _("Public")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
                               related_name="+")
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=80, blank=True)
    purpose = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=django_timezone.now)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "-created_at", "-id"], name="auditevent_clinic_created")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label or self.actor_kind} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise self.Immutable(_("Audit events cannot be changed."))
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise self.Immutable(_("Audit events cannot be deleted."))


class ApiUsage(ClinicOwned):
    """Persisted monthly API-call totals per clinic; the live counter is in the cache (clinics.ratelimit)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="api_usage")
    month = models.DateField(help_text=_("First day of the month."))
    calls = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "month"], name="apiusage_unique_clinic_month")]

    def __str__(self):
        return f"{self.clinic} {self.month:%Y-%m}: {self.calls}"


class OAuthGrantClinic(ClinicOwned):
    """The clinic a user chose on the OAuth consent page, kept beside the authorization code."""

    grant = models.OneToOneField("oauth2_provider.Grant", on_delete=models.CASCADE, primary_key=True,
                                 related_name="clinic_link")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")


class OAuthTokenClinic(ClinicOwned):
    """The clinic an OAuth access token acts for (copied from its grant, or from the token it refreshes)."""

    access_token = models.OneToOneField("oauth2_provider.AccessToken", on_delete=models.CASCADE, primary_key=True,
                                        related_name="clinic_link")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
