"""`manage.py messaging_number add <clinic slug> <phone>` and `... verify <clinic slug> <phone> <code>`: the operator's
edge for a clinic's messaging numbers (telephony/numbers.py) until the console has one. `add` verifies a number
the provider account holds at once, else sends a code to the number; `verify` checks that code. Inbound
messages route by verified numbers only."""
from django.core.management.base import BaseCommand, CommandError

from clinics.errors import DomainError
from clinics.models import Clinic
from clinics.phones import normalise_phone
from telephony.models import MessagingNumber
from telephony.numbers import messaging_number_add, messaging_number_verify


class Command(BaseCommand):
    help = "Add a clinic's messaging number (verified by the provider account or a code) or verify its code."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="add a number and start its verification")
        add.add_argument("clinic", help="clinic slug")
        add.add_argument("phone", help="the number in E.164, e.g. +351210000000")
        verify = actions.add_parser("verify", help="check the code sent to the number")
        verify.add_argument("clinic", help="clinic slug")
        verify.add_argument("phone")
        verify.add_argument("code")

    def handle(self, *args, **options):
        clinic = Clinic.objects.filter(slug=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"No clinic with slug {options['clinic']!r}")
        try:
            if options["action"] == "add":
                number = messaging_number_add(clinic=clinic, phone=options["phone"])
            else:
                pending = MessagingNumber.objects.for_clinic(clinic).filter(
                    phone=normalise_phone(options["phone"])).first()
                if pending is None:
                    raise CommandError(f"No number {options['phone']!r} in clinic {clinic.slug!r}; add it first.")
                number = messaging_number_verify(clinic=clinic, number_id=pending.id, code=options["code"])
        except DomainError as refused:
            raise CommandError(refused.message)
        if number.status == MessagingNumber.Status.VERIFIED:
            self.stdout.write(f"{number.phone} is verified for {clinic.slug} ({number.verified_by}).")
        else:
            self.stdout.write(f"A code was sent to {number.phone}: run `messaging_number verify {clinic.slug} "
                              f"{number.phone} <code>`.")
