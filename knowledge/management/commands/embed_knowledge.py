"""Queue the embedding of every chunk that has none of the configured model (after switching models)."""
from django.core.management.base import BaseCommand

from knowledge import services


class Command(BaseCommand):
    help = "Queue embeddings for knowledge chunks not yet embedded with the configured model."

    def handle(self, *args, **options):
        count = services.stale_embeddings_queue()
        self.stdout.write(f"Queued {count} chunk(s) for embedding.")
