"""`manage.py export_patient <clinic slug> <patient hash> [--output file]`: the RGPD access request as JSON."""
import json

from django.core.management.base import BaseCommand, CommandError

from clinics.models import Clinic
from scheduling import patients
from scheduling.models import Patient


class Command(BaseCommand):
    help = "Export everything held about one patient as JSON (audited)."

    def add_arguments(self, parser):
        parser.add_argument("clinic", help="clinic slug")
        parser.add_argument("patient", help="patient hash")
        parser.add_argument("--output", "-o", help="write to this file instead of standard output")
        parser.add_argument("--purpose", default="data subject access request")

    def handle(self, *args, **options):
        patient = _patient(options["clinic"], options["patient"])
        data = patients.export_patient(patient, purpose=options["purpose"])
        text = json.dumps(data, ensure_ascii=False, indent=2)
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as handle:
                handle.write(text)
            self.stderr.write(f"Exported patient {patient.hash} to {options['output']}")
        else:
            self.stdout.write(text)


def _patient(slug, patient_hash):
    clinic = Clinic.objects.filter(slug=slug).first()
    if clinic is None:
        raise CommandError(f"No clinic with slug {slug!r}")
    patient = Patient.objects.for_clinic(clinic).filter(hash=patient_hash).first()
    if patient is None:
        raise CommandError(f"No patient {patient_hash!r} in clinic {slug!r}")
    return patient
