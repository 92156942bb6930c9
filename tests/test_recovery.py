"""Recovery, for real (docs/deploy.md, "Workers that recover" and "Redis outage"): real Celery worker and beat
processes (`celery -A config worker|beat`) on a Redis server of their own, the test database, and the providers
faked at their HTTP boundary (OpenAI's transcription API, Twilio's Messages API) in a thread of this process, so
the official SDKs run in the workers.

- a worker killed with SIGKILL in the middle of a note and of a campaign: a new worker finishes both within two
  minutes, and every patient gets exactly one SMS (counted at the fake Twilio, by recipient);
- Redis down: the API answers, a new note is accepted (stored in the notes' outbox) and finishes once Redis is back,
  `/health` says so at the first call;
- twenty transcriptions queued on `heavy` do not delay a reminder due now.
"""
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import redis
from django.utils import timezone

from conftest import _database_url, wait_for
from tests.test_health import free_port, redis_answers

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ACCOUNT_SID = "AC" + "5a5a5a5a5a5a5a5a" * 2
TRANSCRIPT = ("The patient complains of a cough for three days. On exam the temperature is thirty eight degrees. "
              "The diagnosis is bronchitis. The plan is rest and fluids.")
FAST_QUEUES = "default,messaging,voice"
# The campaign's allowance window in the workers (CAMPAIGN_RATE_WINDOW_SECONDS, a minute in production), and the
# time the kill test needs before the window ends: its first ten SMS are handed over and the kill comes within a
# second of starting when the machine is idle, two or three under the whole suite's load.
RATE_WINDOW = 12
KILL_MARGIN = 7
# The sweeper's outbox grace in the workers (SWEEP_OUTBOX_GRACE_SECONDS, 10 s in production).
OUTBOX_GRACE = 2


# --- the providers, faked at their HTTP boundary -----------------------------------------------------------------

class FakeProviders:
    """OpenAI's `POST /v1/audio/transcriptions` and Twilio's `POST .../Messages.json`, recorded. While `stt_open`
    is clear, a transcription request is held (the recogniser is "still working"): the worker sits in the middle
    of the note."""

    def __init__(self):
        self.stt_open = threading.Event()
        self.stt_open.set()
        self.transcriptions = []
        self.sms = []  # (To, Body) of every message Twilio accepted
        self.lock = threading.Lock()
        providers = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.endswith("/audio/transcriptions"):
                    with providers.lock:
                        providers.transcriptions.append(time.monotonic())
                    while not providers.stt_open.wait(0.2):
                        pass
                    return self.answer(200, {"text": TRANSCRIPT})
                if self.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                    form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
                    sid = "SM" + uuid.uuid4().hex
                    with providers.lock:
                        providers.sms.append((form["To"], form.get("Body", "")))
                    return self.answer(201, {"sid": sid, "account_sid": ACCOUNT_SID, "to": form["To"],
                                             "from": form.get("From"), "body": form.get("Body", ""),
                                             "status": "queued", "num_segments": "1", "direction": "outbound-api",
                                             "api_version": "2010-04-01", "date_created": None, "date_sent": None,
                                             "date_updated": None, "error_code": None, "error_message": None,
                                             "price": None, "price_unit": "USD",
                                             "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"})
                return self.answer(404, {"message": f"not faked: {self.path}"})

            def answer(self, status, payload):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the worker that asked was killed meanwhile
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.stt_open.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def providers():
    fake = FakeProviders()
    yield fake
    fake.close()


# --- Redis, workers and beat -------------------------------------------------------------------------------------

def start_redis(port):
    server = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    assert wait_for(lambda: redis_answers(f"redis://127.0.0.1:{port}/0"), timeout=10)
    return server


class Processes:
    """Celery processes of one test, each in its own process group (so SIGKILL takes its pool children too), all
    pointing at the test database, the given Redis and the fake providers; stopped at the end of the test."""

    def __init__(self, settings, redis_url, providers, logs, **extra_env):
        from django.db import connection

        self.started = []
        self.logs = logs
        self.env = {
            **os.environ,
            # base settings: tasks really go through the broker (config.settings.test runs them in-process)
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DATABASE_URL": _database_url(connection.settings_dict),
            "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "0", "CACHE_KEY_PREFIX": f"recovery-{uuid.uuid4().hex[:8]}",
            "MEDIA_ROOT": settings.MEDIA_ROOT,
            "STT_BACKEND": "openai", "OPENAI_BASE_URL": f"{providers.url}/v1", "OPENAI_API_KEY": "sk-recovery",
            "LLM_BACKEND": "local",
            "SMS_BACKEND": "twilio", "TWILIO_API_BASE_URL": providers.url, "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": "recovery-token", "TWILIO_FROM_NUMBER": "+351300000001",
            "TWILIO_MESSAGING_SERVICE_SID": "", "SITE_URL": "https://frontdesk.example",
            **extra_env,
        }

    def start(self, name, *arguments):
        log = open(os.path.join(self.logs, f"{name}.log"), "wb")
        process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", *arguments],
                                   env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append(process)
        return process

    def worker(self, name, queues, concurrency):
        # As scripts/run.sh starts them (prefork pool, one task reserved per process).
        return self.start(name, "worker", "-Q", queues, "-n", f"{name}@%h", "--concurrency", str(concurrency),
                          "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle", "--loglevel", "INFO")

    def beat(self):
        return self.start("beat", "beat", "-s", os.path.join(self.logs, "beat-schedule"), "--loglevel", "INFO")

    @staticmethod
    def kill(process):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self):
        # Killed, not shut down warmly (seconds per worker): the test has seen what it needed, and its Redis goes.
        for process in self.started:
            if process.poll() is None:
                self.kill(process)


def forget_connections(app):
    """Drop the app's pooled broker connections and its result backend, so the next publish uses the new URLs."""
    app._pool = app.amqp._producer_pool = None
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


@pytest.fixture
def celery_publishing_to():
    """Point this process's Celery app at `url` (the API publishes there), really publishing; restored after."""
    from config.celery import app

    previous = (app.conf.broker_url, app.conf.result_backend, app.conf.task_always_eager)

    def point(url):
        app.conf.broker_url = app.conf.result_backend = url
        app.conf.task_always_eager = False
        forget_connections(app)

    yield point
    app.conf.broker_url, app.conf.result_backend, app.conf.task_always_eager = previous
    forget_connections(app)


@pytest.fixture
def own_redis(settings, celery_publishing_to):
    """A Redis server of this test's own (other checkouts' tests share the machine's Redis and its queue names);
    the settings, the cache and the Celery app of this process point at it."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    settings.REDIS_URL = settings.CELERY_BROKER_URL = url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}
    celery_publishing_to(url)
    servers = []

    def start():
        servers.append(start_redis(port))

    yield url, start
    for server in servers:
        server.terminate()
        server.wait(10)


@pytest.fixture
def processes(settings, own_redis, providers, tmp_path):
    url, _start = own_redis
    settings.MEDIA_ROOT = str(tmp_path / "media")
    started = []

    def make(**extra_env):
        group = Processes(settings, url, providers, str(tmp_path), **extra_env)
        started.append(group)
        return group

    yield make
    for group in started:
        group.stop_all()


def worker_logs(tmp_path):
    return "\n".join(f"--- {name}\n" + open(tmp_path / name, errors="replace").read()[-3000:]
                     for name in sorted(os.listdir(tmp_path)) if name.endswith(".log"))


# --- what the tests store ----------------------------------------------------------------------------------------

def stored_note(clinic):
    """A note stored as `POST /notes/v1/notes` stores it (pending, its recording on disk), not yet queued."""
    from django.core.files.base import ContentFile

    from notes.models import Note
    from notes.tests.conftest import wav_bytes
    from notes.tests.factories import NoteFactory

    note = NoteFactory.build(clinic=clinic, transcription_status=Note.Status.PENDING, transcript="", language="en",
                             audio_format="wav", audio_mime="audio/wav")
    note.audio.save(f"{note.id}.wav", ContentFile(wav_bytes()), save=False)
    note.save()
    return note


def sending_campaign(clinic, recipients):
    from campaigns.models import Campaign, CampaignRecipient
    from campaigns.tests.factories import EngagementPatientFactory

    campaign = Campaign.objects.create(clinic=clinic, name="Vacinas", message="Olá {name}, vacinas na {clinic}.",
                                       status=Campaign.Status.SENDING, started_at=timezone.now())
    for _ in range(recipients):
        patient = EngagementPatientFactory(clinic=clinic, consents={"sms": True, "marketing": True})
        CampaignRecipient.objects.create(clinic=clinic, campaign=campaign, patient=patient)
    return campaign


def no_quiet_hours(clinic, **rules):
    clinic.booking_rules = {"quiet_hours": {"start": "00:00", "end": "00:00"}, **rules}
    clinic.locale = "en"
    clinic.save(update_fields=["booking_rules", "locale"])


# --- 1. SIGKILL in the middle of a note and a campaign -----------------------------------------------------------

def test_a_worker_killed_mid_note_and_mid_campaign_leaves_both_finished_by_a_new_worker_without_duplicates(
        clinic, providers, own_redis, processes, tmp_path):
    from campaigns.models import Campaign, CampaignRecipient
    from campaigns.tasks import send_campaign
    from config.celery import app
    from notes.models import Note
    from notes.tasks import queue_processing
    from telephony.models import Message

    # Ten SMS a window: the first worker sends ten, then holds the campaign's next batch (a countdown task to the
    # next window) when it dies. The allowance's window and the sweeper's deadlines are lowered so that the test
    # waits seconds, not the production minutes.
    no_quiet_hours(clinic, campaign_sms_per_minute=10)
    own_redis[1]()
    group = processes(TASK_LEASE_SECONDS="6", SWEEP_EVERY_SECONDS="3", SWEEP_CAMPAIGN_STUCK_MINUTES="0.2",
                      CAMPAIGN_RATE_WINDOW_SECONDS=str(RATE_WINDOW))
    providers.stt_open.clear()  # the recogniser takes "forever": the note is mid-transcription when the kill comes

    group.beat()
    first = group.worker("first", f"{FAST_QUEUES},heavy", 2)
    assert app.send_task("frontdesk.ping", ("first",)).get(timeout=90) == {"pong": "first"}, worker_logs(tmp_path)
    # The next batch must fall after the kill: start with KILL_MARGIN seconds left in a window (campaigns.bulk
    # counts windows from the epoch), the worker ready.
    wait_for(lambda: RATE_WINDOW - time.time() % RATE_WINDOW > KILL_MARGIN, timeout=RATE_WINDOW, interval=0.1)
    note = stored_note(clinic)
    assert queue_processing(str(note.id))  # as the API does once the note is stored
    campaign = sending_campaign(clinic, 20)
    send_campaign.delay(str(campaign.id))  # as campaigns.bulk.campaign_send does

    def mid_flight():
        handed_over = Message.objects.filter(clinic=clinic, status=Message.Status.SENT).count()
        return providers.transcriptions and len(providers.sms) == 10 and handed_over == 10

    assert wait_for(mid_flight, timeout=60, interval=0.2), worker_logs(tmp_path)
    print(f"\nmid-flight {RATE_WINDOW - time.time() % RATE_WINDOW:.1f} s before the campaign's next window")
    assert Note.objects.get(pk=note.pk).transcription_status == Note.Status.PROCESSING
    assert campaign.recipients.filter(status=CampaignRecipient.Status.PENDING).count() == 10

    group.kill(first)
    providers.stt_open.set()  # the provider answers again
    started = time.monotonic()
    group.worker("second", f"{FAST_QUEUES},heavy", 2)

    def finished():  # the campaign completes when its last batch is queued; it is done once the SMS are handed over
        return (Note.objects.get(pk=note.pk).transcription_status == Note.Status.COMPLETED
                and Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED
                and Message.objects.filter(clinic=clinic, status=Message.Status.SENT).count() == 20)

    assert wait_for(finished, timeout=120, interval=0.5), worker_logs(tmp_path)
    elapsed = time.monotonic() - started
    assert elapsed < 120
    print(f"\nrecovered the note and the campaign {elapsed:.1f} s after the new worker started")

    note = Note.objects.get(pk=note.pk)
    assert note.transcript == TRANSCRIPT and note.attempts == 2 and len(providers.transcriptions) == 2
    assert note.sections.count() == len(set(note.sections.values_list("label", flat=True))) > 0
    # Exactly one SMS per patient, at the provider and in the outbox.
    phones = set(campaign.recipients.values_list("patient__phone", flat=True))
    assert len(phones) == 20
    assert Counter(to for to, _body in providers.sms) == Counter({phone: 1 for phone in phones})
    assert campaign.recipients.filter(status=CampaignRecipient.Status.SENT).count() == 20
    purposes = Counter(Message.objects.filter(clinic=clinic).values_list("purpose", flat=True))
    assert len(purposes) == 20 and set(purposes.values()) == {1}
    provider_ids = list(Message.objects.filter(clinic=clinic).values_list("provider_message_id", flat=True))
    assert len(set(provider_ids)) == 20 and all(provider_ids)


# --- 2. Redis down: the API answers, a note waits in the outbox --------------------------------------------------

def test_with_redis_down_a_new_note_is_accepted_and_finishes_once_redis_is_back(
        clinic, make_client, client, own_redis, providers, processes, tmp_path):
    from notes.models import Note
    from notes.tests.conftest import wav_bytes

    url, start_redis_here = own_redis
    assert not redis_answers(url)
    no_quiet_hours(clinic)

    listed = make_client(clinic).get("/v1/appointments")
    assert listed.status_code == 200, listed.content
    audio = io.BytesIO(wav_bytes())
    audio.name = "consulta.wav"
    began = time.monotonic()
    created = make_client(clinic, header="x-api-key").post("/notes/v1/notes", {"audio": audio, "name": "Ana"},
                                                           format="multipart")
    assert created.status_code == 201, created.content
    assert time.monotonic() - began < 10  # the broker's absence costs a quick retry, not a hung request
    assert created.json()["data"]["transcription_status"] == "pending"
    note = Note.objects.get(pk=created.json()["data"]["id"])
    assert note.transcription_status == Note.Status.PENDING and note.queued_at is None

    down = client.get("/health")
    assert down.status_code == 503 and {"redis", "broker"} <= set(down.json()["down"])

    start_redis_here()
    up = client.get("/health")
    assert up.status_code == 200, up.json()

    # A worker connecting to the broker sweeps: the outbox is emptied, the note processed. The sweep leaves notes
    # younger than its grace (lowered from production's 10 s) to their own request's publish, so the worker
    # connects once the note is past it.
    time.sleep(max(0.0, OUTBOX_GRACE + 1 - (timezone.now() - note.updated_at).total_seconds()))
    processes(SWEEP_OUTBOX_GRACE_SECONDS=str(OUTBOX_GRACE)).worker("fast", f"{FAST_QUEUES},heavy", 1)
    assert wait_for(lambda: Note.objects.get(pk=note.pk).transcription_status == Note.Status.COMPLETED,
                    timeout=90, interval=0.5), worker_logs(tmp_path)
    note.refresh_from_db()
    assert note.queued_at is not None and note.transcript == TRANSCRIPT
    assert len(providers.transcriptions) == 1


# --- 3. Reminders keep their schedule behind a transcription backlog ---------------------------------------------

def test_a_reminder_due_now_is_sent_while_twenty_transcriptions_wait_on_the_heavy_queue(
        clinic, providers, processes, own_redis, tmp_path):
    from campaigns.models import Reminder
    from campaigns.tests.factories import AppointmentFactory
    from notes.models import Note
    from notes.tasks import queue_processing

    url, start_redis_here = own_redis
    start_redis_here()
    no_quiet_hours(clinic, reminder_hours=24)
    appointment = AppointmentFactory(clinic=clinic, starts_at=timezone.now() + dt.timedelta(hours=3))
    notes = [stored_note(clinic) for _ in range(20)]
    providers.stt_open.clear()  # each transcription takes "forever": the heavy worker is busy with the first
    for note in notes:
        assert queue_processing(str(note.id))

    group = processes()
    group.worker("heavy", "heavy", 1)
    group.worker("fast", FAST_QUEUES, 2)
    assert wait_for(lambda: providers.transcriptions, timeout=60), worker_logs(tmp_path)
    backlog = redis.Redis.from_url(url).llen("heavy")
    assert backlog >= 18

    from config.celery import app

    asked = time.monotonic()
    app.send_task("campaigns.send_due_reminders")  # what beat sends every few minutes
    assert wait_for(lambda: Reminder.objects.filter(appointment=appointment, state=Reminder.State.SENT).exists(),
                    timeout=30, interval=0.2), worker_logs(tmp_path)
    waited = time.monotonic() - asked
    print(f"\nreminder sent {waited:.1f} s after beat asked, with {backlog} transcriptions waiting")
    assert [to for to, _body in providers.sms] == [appointment.patient.phone]
    # The transcriptions are still waiting: the reminder did not queue behind them.
    assert Note.objects.filter(pk__in=[n.pk for n in notes], transcription_status=Note.Status.PENDING).count() >= 18
    providers.stt_open.set()
