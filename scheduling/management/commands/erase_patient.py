"""`manage.py erase_patient <clinic slug> <patient hash> --yes`: the RGPD right to erasure (audited).

A hash may start with "-" (older patients): pass it as `--patient-hash=<hash>` or after `--`."""
from django.core.management.base import BaseCommand, CommandError

from scheduling import patients

from .export_patient import _patient, add_patient_arguments, patient_hash_of


class Command(BaseCommand):
    help = "Erase one patient's personal data; appointments stay, anonymised; audit rows stay."

    def add_arguments(self, parser):
        add_patient_arguments(parser)
        parser.add_argument("--yes", action="store_true", help="confirm: erasure cannot be undone")
        parser.add_argument("--purpose", default="right to erasure")

    def handle(self, *args, **options):
        if not options["yes"]:
            raise CommandError("Erasure cannot be undone; pass --yes to confirm.")
        patient = _patient(options["clinic"], patient_hash_of(options))
        patients.erase_patient(patient, purpose=options["purpose"])
        self.stdout.write(f"Erased patient {patient.hash}")
