"""The Celery app of `bench/campaign.py --worker`: config.celery's own app, plus a count of the SQL queries each
worker process runs, written to `$BENCH_QUERY_DIR/<pid>.json` after every task (the bench adds them up)."""
import json
import os

from celery.signals import task_postrun, task_prerun, worker_process_init

from config.celery import app  # noqa: F401 — what `celery -A bench.campaign_worker` runs

COUNT = {"queries": 0, "tasks": 0, "by_task": {}}
_current = {"name": ""}


def _count(execute, sql, params, many, context):
    COUNT["queries"] += 1
    entry = COUNT["by_task"].setdefault(_current["name"], {"queries": 0, "tasks": 0})
    entry["queries"] += 1
    return execute(sql, params, many, context)


@task_prerun.connect
def _started(task=None, **_kwargs):
    _current["name"] = getattr(task, "name", "")


@worker_process_init.connect
def _install(**_kwargs):
    from django.db import connections

    connections["default"].execute_wrappers.append(_count)


@task_postrun.connect
def _save(**_kwargs):
    COUNT["tasks"] += 1
    COUNT["by_task"].setdefault(_current["name"], {"queries": 0, "tasks": 0})["tasks"] += 1
    path = os.path.join(os.environ["BENCH_QUERY_DIR"], f"{os.getpid()}.json")
    with open(path + ".tmp", "w") as out:
        json.dump(COUNT, out)
    os.replace(path + ".tmp", path)
