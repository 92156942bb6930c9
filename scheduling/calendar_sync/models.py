"""Data of the Google Calendar integration; installed through scheduling/models.py, so it lives in `scheduling`."""
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone as django_timezone
from django.utils.translation import gettext_lazy as _

from clinics.crypto import EncryptedTextField
from clinics.tenancy import ClinicOwned


class CalendarConnection(ClinicOwned):
    """A clinic's link to one Google account's calendar. Tokens are encrypted at rest and never leave the server."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Connected")
        # Google refused the refresh token (revoked by the user, or expired): the admin must connect again.
        NEEDS_RECONNECT = "needs_reconnect", _("Needs to be connected again")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.OneToOneField("clinics.Clinic", on_delete=models.CASCADE, related_name="calendar_connection")
    provider = models.CharField(max_length=20, default="google")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    google_email = models.EmailField(blank=True, default="")
    calendar_id = models.CharField(max_length=255, default="primary")
    access_token = EncryptedTextField(blank=True, default="")
    refresh_token = EncryptedTextField(blank=True, default="")
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=500, blank=True, default="")
    connected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    connected_at = models.DateTimeField(default=django_timezone.now)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        app_label = "scheduling"

    def __str__(self):
        return f"{self.clinic_id} → {self.google_email or self.calendar_id} ({self.status})"

    @property
    def is_active(self):
        return self.status == self.Status.ACTIVE


class CalendarOAuthState(ClinicOwned):
    """One started authorization: the `state` nonce, who started it, and the PKCE verifier; consumed once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    nonce = models.CharField(max_length=64, unique=True)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="+")
    membership = models.ForeignKey("clinics.Membership", on_delete=models.CASCADE, related_name="+")
    code_verifier = EncryptedTextField()
    created_at = models.DateTimeField(default=django_timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "scheduling"
        indexes = [models.Index(fields=["expires_at"], name="calendar_oauth_state_expiry")]


class CalendarEventLink(ClinicOwned):
    """Which calendar event mirrors an appointment; makes the sync task idempotent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="+")
    appointment = models.OneToOneField("scheduling.Appointment", on_delete=models.CASCADE,
                                       related_name="calendar_event")
    calendar_id = models.CharField(max_length=255, default="primary")
    event_id = models.CharField(max_length=1024, blank=True, default="")
    # A digest of the last body sent: an unchanged appointment costs no request.
    fingerprint = models.CharField(max_length=64, blank=True, default="")
    synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        app_label = "scheduling"


class LocalCalendarEvent(models.Model):
    """An event the offline (`local`) calendar backend wrote: what would be in Google Calendar."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="+")
    calendar_id = models.CharField(max_length=255, default="primary")
    event_id = models.CharField(max_length=1024)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONFIRMED)
    summary = models.CharField(max_length=500, blank=True, default="")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    body = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=django_timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "scheduling"
        ordering = ["starts_at", "id"]
        constraints = [models.UniqueConstraint(fields=["clinic", "calendar_id", "event_id"],
                                               name="local_calendar_event_unique_id")]


__all__ = ["CalendarConnection", "CalendarOAuthState", "CalendarEventLink", "LocalCalendarEvent"]

from . import signals  # noqa: E402,F401  (the models import line of scheduling/models.py registers the receiver)
from . import tasks  # noqa: E402,F401  (the worker learns the task: autodiscovery only reads <app>/tasks.py)
