"""Celery entry points of billing: thin, idempotent, each calls one service."""
from celery import shared_task

from . import services


@shared_task(name="billing.local_renewals")
def local_renewals():
    """Beat, hourly: with the offline payments backend, renew (or end) the subscriptions whose paid period is over;
    a subscription renews once per period, so repeated runs change nothing. Nothing to do with Stripe."""
    return services.subscriptions_renew_offline()
