"""Notes' part of the RGPD export and erasure of a patient (`clinics/signals.py`, sent by scheduling)."""
from django.dispatch import receiver

from clinics.signals import patient_erased, patient_exported

from .services import erase_for_patient, export_for_patient


@receiver(patient_exported, dispatch_uid="notes.patient_exported")
def export_notes(sender, patient, data, **kwargs):
    data["consultationNotes"] = export_for_patient(patient)


@receiver(patient_erased, dispatch_uid="notes.patient_erased")
def erase_notes(sender, patient, counts, former=None, **kwargs):
    counts["consultation_notes"] = erase_for_patient(patient, name=(former or {}).get("name", ""))
