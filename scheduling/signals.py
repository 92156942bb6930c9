"""What scheduling tells the apps above it. Higher apps connect receivers in their `AppConfig.ready()`;
scheduling never imports them.

- `patient_exported(sender=Patient, patient, data)`: each receiver adds its part to the RGPD export `data`.
- `patient_erased(sender=Patient, patient, phone_index, former, counts)`: each receiver wipes the personal data it
  holds about `patient` (whose phone had the blind index `phone_index`; `former` holds the values the patient row
  no longer has) and adds what it wiped to `counts`. It runs inside the erasure's transaction: a failing receiver
  rolls the whole erasure back.
- `appointment_booked(sender=Appointment, appointment, pending_consents)` and `appointment_cancelled(sender=Appointment,
  appointment)`: sent once the booking or cancellation has committed. `pending_consents` names the consents the
  booking left waiting for the patient's confirmation (`services.PENDING_CONSENT_KINDS`; campaigns texts the link).
"""
from django.dispatch import Signal

# Defined in the shared kernel so apps that may not import scheduling (notes) can receive them.
from clinics.signals import patient_erased, patient_exported  # noqa: F401

appointment_booked = Signal()
appointment_cancelled = Signal()
