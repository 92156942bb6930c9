"""Running it for real: the web server's configuration, the Celery queues, workers that recover, the sweeper,
a Redis outage, and the deployment files (docs/deploy.md)."""
import datetime as dt
import fnmatch
import glob
import os
import re
import runpy
import subprocess
import sys

import pytest
import yaml
from django.utils import timezone

from tests.test_foundation import BASE_DIR, production_secrets, python, without


# --- 1. The production web server -------------------------------------------------------------------------------

def test_gunicorn_reads_workers_timeout_and_bind_from_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "90")
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:8999")
    config = runpy.run_path(os.path.join(BASE_DIR, "config", "gunicorn.conf.py"))
    assert (config["workers"], config["timeout"], config["bind"]) == (3, 90, "127.0.0.1:8999")
    assert config["accesslog"] == "-" and config["preload_app"] is False


def test_gunicorn_accepts_its_configuration():
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "gunicorn"), "--check-config",
                             "-c", "config/gunicorn.conf.py", "config.wsgi"],
                            cwd=BASE_DIR, env=without(**production_secrets()), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_keeps_database_connections_and_checks_them_before_reuse():
    code = ("from django.conf import settings; db = settings.DATABASES['default']; "
            "print(db['CONN_MAX_AGE'], db['CONN_HEALTH_CHECKS'])")
    result = python(code, without("DB_CONN_MAX_AGE", DJANGO_SETTINGS_MODULE="config.settings.production",
                                  **production_secrets()))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["60", "True"]


# --- 2. Queues --------------------------------------------------------------------------------------------------

def registered_tasks():
    from config.celery import app

    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def queue_of(name):
    from config.celery import app

    return app.amqp.router.route({}, name)["queue"].name


def test_every_registered_task_is_routed_by_name_to_a_known_queue(settings):
    names = registered_tasks()
    assert {"campaigns.send_due_reminders", "notes.process_note", "frontdesk.sweep_stuck_work"} <= set(names)
    for name in names:
        assert any(fnmatch.fnmatchcase(name, pattern) for pattern in settings.CELERY_TASK_ROUTES), name
        assert queue_of(name) in settings.CELERY_QUEUE_NAMES, name


def test_reminders_and_transcription_go_to_different_queues():
    assert queue_of("campaigns.send_due_reminders") == "messaging"
    assert queue_of("telephony.send_sms") == "messaging"
    assert queue_of("telephony.deliver_webhook") == "messaging"
    assert queue_of("notes.process_note") == "heavy"
    assert queue_of("knowledge.embed_chunks") == "heavy"


def test_make_run_starts_a_worker_for_every_queue():
    from django.conf import settings

    script = open(os.path.join(BASE_DIR, "scripts", "run.sh"), encoding="utf-8").read()
    consumed = set()
    for line in script.splitlines():
        if "worker -Q " in line:
            consumed |= set(line.split("worker -Q ")[1].split()[0].split(","))
    assert consumed == set(settings.CELERY_QUEUE_NAMES)
    assert "worker -Q heavy " in script  # the heavy queue has a worker of its own


# --- 3. Workers that recover ------------------------------------------------------------------------------------

def test_tasks_are_acknowledged_late_and_requeued_when_their_worker_dies(settings):
    from config.celery import app

    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    longest = max((task.time_limit or 0) for task in registered_tasks().values())
    assert longest >= 30 * 60  # the transcription's hard limit
    assert app.conf.broker_transport_options["visibility_timeout"] > longest
    assert settings.SWEEP_NOTE_STUCK_MINUTES * 60 > longest


@pytest.fixture
def eager(settings):
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def _age(model, pk, **fields):
    model.objects.filter(pk=pk).update(**fields)


@pytest.mark.django_db
def test_the_sweeper_requeues_a_stuck_note_and_leaves_a_fresh_one_alone(clinic, eager):
    from config.sweeper import sweep_stuck_work
    from notes.models import Note
    from notes.tests.factories import NoteFactory

    long_ago = timezone.now() - dt.timedelta(hours=2)
    stuck = NoteFactory(clinic=clinic, transcription_status=Note.Status.PROCESSING)
    waiting = NoteFactory(clinic=clinic, transcription_status=Note.Status.PENDING)
    fresh = NoteFactory(clinic=clinic, transcription_status=Note.Status.PENDING)
    done = NoteFactory(clinic=clinic, transcription_status=Note.Status.COMPLETED)
    for note in (stuck, waiting, done):
        _age(Note, note.pk, updated_at=long_ago, queued_at=long_ago)
    _age(Note, fresh.pk, queued_at=timezone.now())

    assert sweep_stuck_work.delay().get() == {"notes": 2, "campaigns": 0, "outbox": 0}

    statuses = dict(Note.objects.values_list("pk", "transcription_status"))
    # Run again by notes.process_note: the factory's notes carry a transcript, so the pipeline structures them.
    assert statuses[stuck.pk] == statuses[waiting.pk] == Note.Status.COMPLETED
    assert Note.objects.get(pk=stuck.pk).sections.exists()
    assert statuses[fresh.pk] == Note.Status.PENDING
    assert statuses[done.pk] == Note.Status.COMPLETED
    assert sweep_stuck_work.delay().get() == {"notes": 0, "campaigns": 0, "outbox": 0}


@pytest.mark.django_db
def test_the_sweeper_requeues_a_stuck_campaign_once_and_leaves_a_fresh_one_alone(clinic, eager):
    from campaigns.models import Campaign, CampaignRecipient
    from campaigns.tests.factories import EngagementPatientFactory
    from config.sweeper import sweep_stuck_work
    from telephony.models import Message

    clinic.booking_rules = {"quiet_hours": {"start": "00:00", "end": "00:00"}}  # no quiet hours: any time of day
    clinic.save(update_fields=["booking_rules"])
    long_ago = timezone.now() - dt.timedelta(hours=1)

    def sending(name, started_at):
        campaign = Campaign.objects.create(clinic=clinic, name=name, message="Olá {name}",
                                           status=Campaign.Status.SENDING, started_at=started_at)
        patient = EngagementPatientFactory(clinic=clinic, consents={"sms": True, "marketing": True})
        CampaignRecipient.objects.create(clinic=clinic, campaign=campaign, patient=patient)
        return campaign

    stuck = sending("Gripe", long_ago)
    fresh = sending("Vacinas", timezone.now())
    _age(Campaign, stuck.pk, created_at=long_ago)

    assert sweep_stuck_work.delay().get() == {"notes": 0, "campaigns": 1, "outbox": 0}

    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.status == Campaign.Status.COMPLETED
    assert stuck.recipients.get().status == CampaignRecipient.Status.SENT
    assert Message.objects.filter(purpose=f"campaign:{stuck.recipients.get().pk}").count() == 1
    assert fresh.status == Campaign.Status.SENDING
    assert fresh.recipients.get().status == CampaignRecipient.Status.PENDING
    assert sweep_stuck_work.delay().get() == {"notes": 0, "campaigns": 0, "outbox": 0}


@pytest.mark.django_db
def test_the_sweeper_queues_the_notes_outbox_and_a_note_whose_worker_stopped_renewing_its_lease(
        clinic, eager, settings):
    from django.core.cache import cache

    from config.celery import lease_key
    from config.sweeper import sweep_stuck_work
    from notes.models import Note
    from notes.tests.factories import NoteFactory

    settings.TASK_LEASE_SECONDS = 30
    a_minute_ago = timezone.now() - dt.timedelta(minutes=1)
    unqueued = NoteFactory(clinic=clinic, transcription_status=Note.Status.PENDING)  # the broker was down
    just_stored = NoteFactory(clinic=clinic, transcription_status=Note.Status.PENDING)  # its request is queueing it
    orphan = NoteFactory(clinic=clinic, transcription_status=Note.Status.PROCESSING)  # its worker was killed
    alive = NoteFactory(clinic=clinic, transcription_status=Note.Status.PROCESSING)  # its worker renews the lease
    for note in (unqueued, orphan, alive):
        _age(Note, note.pk, updated_at=a_minute_ago)
    _age(Note, orphan.pk, queued_at=a_minute_ago)
    _age(Note, alive.pk, queued_at=a_minute_ago)
    cache.set(lease_key("notes.process_note", alive.pk), "task-id", timeout=30)

    assert sweep_stuck_work.delay().get() == {"notes": 1, "campaigns": 0, "outbox": 1}

    statuses = dict(Note.objects.values_list("pk", "transcription_status"))
    assert statuses[unqueued.pk] == statuses[orphan.pk] == Note.Status.COMPLETED
    assert Note.objects.get(pk=unqueued.pk).queued_at is not None
    assert statuses[just_stored.pk] == Note.Status.PENDING
    assert statuses[alive.pk] == Note.Status.PROCESSING
    assert sweep_stuck_work.delay().get() == {"notes": 0, "campaigns": 0, "outbox": 0}


def test_a_note_stored_while_the_broker_is_down_is_kept_pending_and_unqueued(clinic, settings, caplog,
                                                                              django_capture_on_commit_callbacks):
    # The broker on a closed port: in the settings, which the Celery app reads, and in the app's own layer.
    import io

    from config.celery import app
    from notes.models import Note
    from notes.services import note_create
    from notes.tests.conftest import wav_bytes
    from tests.test_health import free_port

    closed = f"redis://127.0.0.1:{free_port()}/0"
    # Read the app's configuration first: Celery reads Django's settings once, on first use, so overriding them
    # before that would leave the closed port in the app for every later test (its result backend included).
    previous = app.conf.broker_url, app.conf.task_always_eager
    settings.CELERY_BROKER_URL = closed
    app.conf.broker_url, app.conf.task_always_eager = closed, False
    app._pool = app.amqp._producer_pool = None  # forget the connections to the previous broker
    audio = io.BytesIO(wav_bytes())
    audio.size = len(audio.getvalue())
    try:
        with django_capture_on_commit_callbacks(execute=True):
            note = note_create(clinic=clinic, audio=audio, actor=None, name="Ana")
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
        app._pool = app.amqp._producer_pool = None
    note = Note.objects.get(pk=note.pk)
    assert note.transcription_status == Note.Status.PENDING and note.queued_at is None
    assert "Broker unavailable" in caplog.text


@pytest.mark.django_db
def test_the_sweeper_leaves_a_campaign_waiting_out_quiet_hours_alone(clinic, eager):
    from campaigns.models import Campaign
    from config.sweeper import sweep_stuck_work

    clinic.booking_rules = {"quiet_hours": {"start": "00:00", "end": "23:59"}}
    clinic.timezone = "UTC"
    clinic.save(update_fields=["booking_rules", "timezone"])
    long_ago = timezone.now() - dt.timedelta(hours=1)
    campaign = Campaign.objects.create(clinic=clinic, name="Gripe", message="Olá", status=Campaign.Status.SENDING,
                                       started_at=long_ago, created_at=long_ago)
    if timezone.now().time() >= dt.time(23, 59):
        pytest.skip("the last minute of the day is outside these quiet hours")
    assert sweep_stuck_work.delay().get()["campaigns"] == 0
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING


# --- 5. The deployment files agree with the code -----------------------------------------------------------------

APPLICATION_SERVICES = ("migrate", "web", "worker", "worker-heavy", "beat")
READ_BY_DJANGO = {"DJANGO_SETTINGS_MODULE"}


def read_file(*parts):
    with open(os.path.join(BASE_DIR, *parts), encoding="utf-8") as source:
        return source.read()


def read_by_settings():
    names = set()
    for path in glob.glob(os.path.join(BASE_DIR, "config", "settings", "*.py")):
        names |= set(re.findall(r'env(?:\.\w+)?\("([A-Z][A-Z0-9_]*)"', read_file(path)))
    return names


def read_by_gunicorn():
    return set(re.findall(r'(?:environ\.get|_int)\("([A-Z][A-Z0-9_]*)"', read_file("config", "gunicorn.conf.py")))


def compose():
    return yaml.safe_load(read_file("compose.yaml"))


def listed_in_env_example():
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", read_file(".env.example"), re.M))


def test_every_variable_compose_gives_the_application_is_read_by_the_code():
    services = compose()["services"]
    for name in APPLICATION_SERVICES:
        given = set(services[name]["environment"])
        assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "AWS_STORAGE_BUCKET_NAME"} <= given, name
        unread = given - read_by_settings() - read_by_gunicorn() - READ_BY_DJANGO
        assert not unread, (name, sorted(unread))
        assert services[name]["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_compose_runs_the_web_server_a_worker_per_queue_beat_and_the_backing_services(settings):
    services = compose()["services"]
    assert services["web"]["command"][:3] == ["gunicorn", "-c", "config/gunicorn.conf.py"]
    consumed = set()
    for name in ("worker", "worker-heavy"):
        command = services[name]["command"]
        consumed |= set(command[command.index("-Q") + 1].split(","))
    assert consumed == set(settings.CELERY_QUEUE_NAMES)
    assert services["worker-heavy"]["command"][services["worker-heavy"]["command"].index("-Q") + 1] == "heavy"
    assert "beat" in services["beat"]["command"]
    assert services["db"]["image"].startswith("pgvector/pgvector:")
    assert {"redis", "minio"} <= set(services)


def test_compose_takes_from_the_environment_only_what_env_example_lists():
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", read_file("compose.yaml")))
    assert interpolated and not interpolated - listed_in_env_example(), sorted(interpolated - listed_in_env_example())


def test_env_example_lists_nothing_that_no_one_reads():
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", read_file("compose.yaml")))
    unread = listed_in_env_example() - read_by_settings() - read_by_gunicorn() - interpolated
    assert not unread, sorted(unread)


def test_the_image_serves_with_gunicorn_and_collects_static_files():
    dockerfile = read_file("Dockerfile")
    assert dockerfile.startswith("# ") and "FROM python:3.11-slim" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert 'CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"]' in dockerfile
    assert "gunicorn==" in read_file("requirements.txt")
