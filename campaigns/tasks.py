"""Celery entry points of engagement: thin, idempotent, each calls one service."""
from celery import shared_task

from . import services


@shared_task(name="campaigns.send_due_reminders")
def send_due_reminders():
    """Beat, every few minutes: send the reminders that are due (each at most once)."""
    return services.send_due_reminders()


@shared_task(name="campaigns.request_pending_feedback")
def request_pending_feedback():
    """Beat: ask the patients of recently completed appointments for feedback (once per appointment)."""
    return services.request_pending_feedback()
