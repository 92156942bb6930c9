"""Celery entry points of scheduling: thin and idempotent (see imports.patient_import_run)."""
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from . import imports


# On `heavy` (settings: CELERY_TASK_ROUTES). Acknowledged when done and queued again when its worker dies: a rerun
# resumes after the last batch counted on the import, and a person already imported is never imported twice.
@shared_task(name="scheduling.import_patients", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=25 * 60, time_limit=30 * 60)
def import_patients(import_id: str) -> int:
    try:
        done = imports.patient_import_run(import_id=import_id)
        return done.created_count if done is not None else 0  # removed meanwhile: nothing to do
    except SoftTimeLimitExceeded:
        imports.patient_import_fail(import_id=import_id)
        raise
