"""The Celery app: Redis broker, tasks discovered in every app, beat schedule in settings."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("frontdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="frontdesk.ping")
def ping(value=None):
    """Round trip used by /health and the queueing test: proves a worker consumed the broker."""
    return {"pong": value}
