"""The Celery app: Redis broker, tasks discovered in every app, beat schedule in settings.

Two recovery aids live here, beside the app they hook into (docs/deploy.md, "Workers that recover"):
- task leases: while a worker runs a task of LEASED_TASKS, it keeps a key `lease:<task>:<first argument>` alive in
  the cache (TASK_LEASE_SECONDS, refreshed by a thread of the worker process). A worker killed with SIGKILL stops
  refreshing it, so config/sweeper.py tells a dead run from a slow one within seconds instead of waiting out the
  task's time limit;
- a sweep whenever a worker consuming the sweeper's queue connects to the broker (its start, or Redis coming back):
  the work stored while the broker was down (notes' outbox) and the work a dead worker held are queued at once.
"""
import logging
import os
import threading

from celery import Celery, bootsteps
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

logger = logging.getLogger(__name__)

app = Celery("frontdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

SWEEP_TASK = "frontdesk.sweep_stuck_work"
LEASED_TASKS = {"notes.process_note"}


@app.task(name="frontdesk.ping")
def ping(value=None):
    """Round trip used by /health and the queueing test: proves a worker consumed the broker."""
    return {"pong": value}


# --- task leases ------------------------------------------------------------------------------------------------

def lease_key(task_name: str, object_id) -> str:
    return f"lease:{task_name}:{object_id}"


class _Leases:
    """The leases this worker process holds, and the one thread that keeps them alive (started after the fork)."""

    def __init__(self):
        self.held: dict[str, str] = {}
        self.lock = threading.Lock()
        self.thread_pid = None
        self.wake = threading.Event()

    def renew(self, key, task_id):
        from django.conf import settings
        from django.core.cache import cache

        cache.set(key, task_id, timeout=settings.TASK_LEASE_SECONDS)

    def take(self, key, task_id):
        self.renew(key, task_id)
        with self.lock:
            self.held[key] = task_id
            if self.thread_pid != os.getpid():
                self.thread_pid = os.getpid()
                threading.Thread(target=self.keep_alive, name="task-leases", daemon=True).start()

    def drop(self, key):
        from django.core.cache import cache

        with self.lock:
            self.held.pop(key, None)
        cache.delete(key)

    def keep_alive(self):
        from django.conf import settings

        while True:
            self.wake.wait(max(settings.TASK_LEASE_SECONDS / 3, 1))
            with self.lock:
                held = dict(self.held)
            for key, task_id in held.items():
                try:
                    self.renew(key, task_id)
                except Exception:  # never let the refresher die; the next round tries again
                    logger.exception("Could not renew the task lease %s", key)


LEASES = _Leases()


def _leased(task, args):
    if task is None or task.name not in LEASED_TASKS or not args or task.request.is_eager:
        return None
    return lease_key(task.name, args[0])


@task_prerun.connect(dispatch_uid="celery.lease.take")
def _take_lease(task_id=None, task=None, args=None, **_kwargs):
    key = _leased(task, args)
    if key:
        LEASES.take(key, task_id)


@task_postrun.connect(dispatch_uid="celery.lease.drop")
def _drop_lease(task=None, args=None, **_kwargs):
    key = _leased(task, args)
    if key:
        LEASES.drop(key)


# --- a sweep on every connection --------------------------------------------------------------------------------

class SweepWhenConnected(bootsteps.StartStopStep):
    """Queue one sweep each time the consumer (re)connects to the broker, when this worker consumes the sweeper's
    queue; Celery starts a consumer's steps again after a lost connection is restored."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def start(self, consumer):
        queue = app.amqp.router.route({}, SWEEP_TASK)["queue"].name
        if queue not in app.amqp.queues.consume_from:
            return
        try:
            app.send_task(SWEEP_TASK)
        except Exception:  # the broker went away again: the next connection or beat sweeps
            logger.warning("Could not queue the sweep on connecting to the broker", exc_info=True)


app.steps["consumer"].add(SweepWhenConnected)
