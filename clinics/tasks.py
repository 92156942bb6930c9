"""Celery entry points of the clinics app: thin, idempotent."""
from celery import shared_task

from . import services


@shared_task(name="clinics.purge_refresh_tokens")
def purge_refresh_tokens():
    """Drop refresh-token records a day after they expired; running it twice deletes nothing more."""
    return services.refresh_token_purge()
