"""`manage.py export_patient <clinic slug> <patient hash> [--output file]`: the RGPD access request as JSON.

A hash may start with "-" (older patients): pass it as `--patient-hash=<hash>` or after `--`."""
import json

from django.core.management.base import BaseCommand, CommandError

from clinics.models import Clinic
from scheduling import patients
from scheduling.models import Patient


class Command(BaseCommand):
    help = "Export everything held about one patient as JSON (audited)."

    def add_arguments(self, parser):
        add_patient_arguments(parser)
        parser.add_argument("--output", "-o", help="write to this file instead of standard output")
        parser.add_argument("--purpose", default="data subject access request")

    def handle(self, *args, **options):
        patient = _patient(options["clinic"], patient_hash_of(options))
        data = patients.export_patient(patient, purpose=options["purpose"])
        text = json.dumps(data, ensure_ascii=False, indent=2)
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as handle:
                handle.write(text)
            self.stderr.write(f"Exported patient {patient.hash} to {options['output']}")
        else:
            self.stdout.write(text)


def add_patient_arguments(parser):
    """The clinic slug and the patient hash, positional; a hash that starts with "-" would read as an option, so
    it is also accepted as `--patient-hash=<hash>` (or positional after `--`)."""
    parser.add_argument("clinic", help="clinic slug")
    parser.add_argument("patient", nargs="?", help='patient hash (one starting with "-": use --patient-hash=)')
    parser.add_argument("--patient-hash", dest="patient_hash", help="patient hash, any first character")


def patient_hash_of(options) -> str:
    given = {value for value in (options.get("patient"), options.get("patient_hash")) if value}
    if len(given) != 1:
        raise CommandError("Give one patient hash: positional, or --patient-hash=<hash>.")
    return given.pop()


def _patient(slug, patient_hash):
    clinic = Clinic.objects.filter(slug=slug).first()
    if clinic is None:
        raise CommandError(f"No clinic with slug {slug!r}")
    patient = Patient.objects.for_clinic(clinic).filter(hash=patient_hash).first()
    if patient is None:
        raise CommandError(f"No patient {patient_hash!r} in clinic {slug!r}")
    return patient
