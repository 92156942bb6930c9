"""`manage.py replay_stripe_events [--failed] [--since 2026-11-01T00:00:00Z]`: process stored Stripe events again."""
from datetime import datetime, time, timezone

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from billing import services


def _since(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since wants an ISO 8601 date or date-time, not {value!r}")
        moment = datetime.combine(day, time.min)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Command(BaseCommand):
    help = ("Process stored Stripe events again, in Stripe's order (after fixing what made them fail). "
            "Idempotent: events already applied change nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--failed", action="store_true", help="Only events not applied yet.")
        parser.add_argument("--since", help="Only events received at or after this date or date-time (UTC).")

    def handle(self, *args, failed=False, since=None, **options):
        applied, failed_count = services.stripe_events_replay(failed_only=failed,
                                                              since=_since(since) if since else None)
        self.stdout.write(f"Replayed {applied + failed_count} Stripe events: {applied} applied, "
                          f"{failed_count} failed.")
        if failed_count:
            self.stdout.write("See StripeEvent.error for why (Django admin → Billing → Stripe events).")
