"""Who works when, what they offer, and the appointments that fill their time.

The rule that matters most lives in the database: two active appointments of one professional never overlap
(exclusion constraint `appointment_no_overlap` over the occupied range, buffers included).
"""
import secrets
import uuid

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
from django.utils import timezone as django_timezone
from django.utils.translation import gettext_lazy as _

from clinics.crypto import (BlindIndexArrayField, EncryptedTextField, blind_index, name_prefix_hashes, name_tokens,
                            normalise_text)
from clinics.tenancy import ClinicOwned


# Bounds of every number and text an edge accepts (forms and serializers), inside what the columns hold, so
# nothing the database would refuse ever reaches it.
LIMITS = {
    "name": 200, "phone": 40, "email": 254, "notes": 5000, "reason": 200,
    "price": 100_000_000,  # minor units: 1,000,000.00
    "duration_minutes": 24 * 60, "buffer_minutes": 240, "services_per_professional": 200,
}


def new_patient_hash() -> str:
    """A random public id of a patient; never starting with "-", which a command line reads as an option."""
    while True:
        value = secrets.token_urlsafe(12)
        if not value.startswith("-"):
            return value


class Patient(ClinicOwned):
    """A person (or animal) the clinic sees. PII is encrypted; search goes through blind indexes.

    Minimal for scheduling; the patients issue extends it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="patients")
    hash = models.CharField(max_length=32, unique=True, default=new_patient_hash, editable=False)
    name = EncryptedTextField(blank=True, default="")
    phone = EncryptedTextField(blank=True, default="")
    email = EncryptedTextField(blank=True, default="")
    phone_index = models.CharField(max_length=32, blank=True, default="")
    name_index = BlindIndexArrayField()
    # Keyed hashes of every prefix (2 letters and up) of each name token: "Mar" finds "Maria" as staff type.
    name_prefix_index = BlindIndexArrayField()
    # Keyed hash of phone + normalised name: who this person is when a booking gives no patient id.
    identity_index = models.CharField(max_length=32, blank=True, default="")
    birth_date = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=20, blank=True, default="")
    species = models.CharField(max_length=60, blank=True, default="")
    # Veterinary clinics: the patient is the animal; `phone` and `email` reach its owner, named here.
    owner_name = EncryptedTextField(blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    consents = models.JSONField(default=dict, blank=True)
    # The patient's id in the clinic's other systems (a CRM, a lab): it names the person there, so it is encrypted.
    external_id = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(default=django_timezone.now)

    class Meta:
        constraints = [
            # Families share a phone, so a phone alone is not a person; one phone with one (normalised) name is.
            # Two concurrent bookings of the same new person meet here and the loser reuses the winner's row.
            models.UniqueConstraint(fields=["clinic", "identity_index"], condition=~Q(identity_index=""),
                                    name="patient_unique_clinic_identity"),
        ]
        indexes = [GinIndex(fields=["name_index"], name="patient_name_index_gin"),
                   GinIndex(fields=["name_prefix_index"], name="patient_name_prefix_gin"),
                   models.Index(fields=["clinic", "phone_index"], name="patient_clinic_phone")]

    def __str__(self):
        return f"patient {self.hash}"

    def refresh_indexes(self):
        """Recompute the blind indexes from the plaintext (phone already E.164)."""
        self.phone_index = blind_index(self.phone, "phone") if self.phone else ""
        # The owner's name is searchable too: a vet's front desk finds "Rex" by "Maria Silva".
        tokens = set(name_tokens(self.name or "")) | set(name_tokens(self.owner_name or ""))
        self.name_index = [blind_index(token, "name") for token in sorted(tokens)]
        self.name_prefix_index = name_prefix_hashes(tokens)
        self.identity_index = identity_hash(self.phone, self.name)


def identity_hash(phone_e164: str, name: str) -> str:
    """Keyed hash of (E.164 phone, normalised name); empty without a phone (erased patients)."""
    if not phone_e164:
        return ""
    return blind_index(f"{phone_e164}|{normalise_text(name or '')}", "identity")


class Service(ClinicOwned):
    """A consultation type: how long it takes, what it costs, and the time kept free around it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=200)
    duration_minutes = models.PositiveIntegerField(default=30)
    price = models.PositiveIntegerField(default=0, help_text=_("Minor units (cents)."))
    currency = models.CharField(max_length=3, default="EUR")
    buffer_before_minutes = models.PositiveIntegerField(default=0)
    buffer_after_minutes = models.PositiveIntegerField(default=0)
    online_bookable = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=django_timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(duration_minutes__gt=0), name="service_duration_positive"),
        ]

    def __str__(self):
        return self.name


class Professional(ClinicOwned):
    """A doctor, vet or therapist whose time can be booked."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="professionals")
    name = models.CharField(max_length=200)
    specialty = models.CharField(max_length=200, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=20, blank=True, default="")
    active = models.BooleanField(default=True)
    colour = models.CharField(max_length=7, blank=True, default="#3b82f6")
    services = models.ManyToManyField(Service, blank=True, related_name="professionals")
    created_at = models.DateTimeField(default=django_timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class WorkingHours(ClinicOwned):
    """One interval of a professional's weekly routine, in the clinic's local time (several per day)."""
    clinic_lookup = "professional__clinic"


    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    professional = models.ForeignKey(Professional, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(help_text=_("0 = Monday ... 6 = Sunday"))
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="working_hours_weekday_range"),
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="working_hours_start_before_end"),
        ]

    def __str__(self):
        return f"{self.professional_id} {self.weekday} {self.start}-{self.end}"


class AvailabilityException(ClinicOwned):
    """A dated change to the routine: time off, a clinic-wide closure (no professional) or extra hours."""

    class Kind(models.TextChoices):
        TIME_OFF = "time_off", _("Time off")
        CLOSURE = "closure", _("Closure")
        EXTRA_HOURS = "extra_hours", _("Extra hours")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="availability_exceptions")
    professional = models.ForeignKey(Professional, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="exceptions")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TIME_OFF)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=django_timezone.now)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="availability_exception_ordered"),
        ]
        indexes = [models.Index(fields=["clinic", "ends_at"], name="avail_exception_clinic_end")]


ACTIVE_STATUSES = ("scheduled", "confirmed")


class Appointment(ClinicOwned):
    """A patient's booked time with a professional for a service."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CONFIRMED = "confirmed", _("Confirmed")
        CANCELLED = "cancelled", _("Cancelled")
        COMPLETED = "completed", _("Completed")
        NO_SHOW = "no_show", _("No show")

    class Source(models.TextChoices):
        PHONE_AGENT = "phone_agent", _("Phone agent")
        ONLINE = "online", _("Online")
        STAFF = "staff", _("Staff")
        API = "api", _("API")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="appointments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    professional = models.ForeignKey(Professional, on_delete=models.PROTECT, related_name="appointments")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # [starts_at - buffer before, ends_at + buffer after): the time no other appointment may touch.
    occupied = DateTimeRangeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.STAFF)
    # Free text about the patient's visit (symptoms, requests): health data, encrypted like every clinical text.
    notes = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(default=django_timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            ExclusionConstraint(
                name="appointment_no_overlap",
                expressions=[("professional", RangeOperators.EQUAL), ("occupied", RangeOperators.OVERLAPS)],
                condition=Q(status__in=ACTIVE_STATUSES),
            ),
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="appointment_starts_before_end"),
        ]
        indexes = [
            models.Index(fields=["clinic", "starts_at", "id"], name="appointment_clinic_start"),
            models.Index(fields=["professional", "starts_at"], name="appointment_professional_start"),
        ]

    def __str__(self):
        return f"{self.professional_id} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self):
        return self.status in ACTIVE_STATUSES


from .calendar_sync.models import CalendarConnection  # noqa: E402,F401


class PatientImport(ClinicOwned):
    """One CSV file of patients being imported (scheduling/imports.py): its columns, its progress and its bad rows.

    The file itself is personal data: it is kept encrypted only until the import has run, then emptied. Row
    errors name the row, the column and what is wrong, never the value.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Waiting for its columns")
        PENDING = "pending", _("Queued")
        PROCESSING = "processing", _("Importing")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="patient_imports")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    filename = models.CharField(max_length=200, blank=True, default="")
    content = EncryptedTextField(blank=True, default="")
    headers = models.JSONField(default=list, blank=True)
    # Patient field -> the file's column header that holds it.
    columns = models.JSONField(default=dict, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    # Who started it (the audit actor of the rows the worker writes later): kind, id and label.
    actor = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=django_timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "created_at", "id"], name="patient_import_clinic_time")]
        constraints = [
            models.CheckConstraint(condition=Q(processed_rows__lte=F("total_rows")),
                                   name="patient_import_progress_bounded"),
        ]

    def __str__(self):
        return f"patient import {self.id}"
