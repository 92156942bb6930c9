"""Personal-data signals of the shared kernel, so every app that holds a patient's data can take part in an RGPD
export or erasure without importing the app that sends them (scheduling sends both; `scheduling/signals.py`
re-exports them).

- `patient_exported(sender=Patient, patient, data)`: each receiver adds its part to the RGPD export `data`.
- `patient_erased(sender=Patient, patient, phone_index, former, counts)`: each receiver wipes the personal data it
  holds about `patient` (whose phone had the blind index `phone_index`; `former` holds the name, phone, e-mail and
  owner name the patient row no longer has) and adds what it wiped to `counts`, inside the erasure's transaction.
"""
from django.dispatch import Signal

patient_exported = Signal()
patient_erased = Signal()
