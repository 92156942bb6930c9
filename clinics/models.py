"""Tenants (clinics), the people who work in them, and the credentials that act for them."""
import hashlib
import secrets
import uuid

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone as django_timezone
from django.utils.translation import gettext_lazy as _


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

    def __str__(self):
        return self.name


class Membership(models.Model):
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

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "user"], name="membership_unique_clinic_user")]

    def __str__(self):
        return f"{self.user} @ {self.clinic} ({self.role})"


def hash_secret(raw: str) -> str:
    """Keys are 256-bit random strings, so a plain SHA-256 is a safe, indexable digest."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def usable(self):
        now = django_timezone.now()
        return self.filter(revoked_at__isnull=True).filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiKey(models.Model):
    """A clinic's key for integrations; only its digest is stored, the full key is shown once."""

    PREFIX = "fd_live_"

    class Permission(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Write")

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
    def issue(cls, clinic, name, permissions=("read", "write"), created_by=None, expires_at=None):
        """Create a key and return (key, full_key); the full key is not kept anywhere."""
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            clinic=clinic, name=name, digest=hash_secret(raw), preview=f"{raw[:11]}...{raw[-3:]}",
            permissions=sorted(set(permissions)), created_by=created_by, expires_at=expires_at,
        )
        return key, raw
