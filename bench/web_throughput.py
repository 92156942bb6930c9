"""Requests per second of `GET /v1/appointments` under 16 concurrent clients: gunicorn with config/gunicorn.conf.py
(what `make run` and the image serve) side by side with Django's runserver (`make dev`), and the ratio.

    .venv/bin/python bench/web_throughput.py [--clients 16] [--seconds 20] [--rounds 2]

Works in a throwaway database (created with the migrations, dropped at the end) holding one clinic, 4
professionals, 200 patients and 400 appointments over the next weeks; every request reads the first page (50
appointments, the patients masked or not by the key's scope, one audit row for the page). Both servers run the
same settings (`config.settings.development`, DEBUG off, the same Redis cache and counters) but for what the
production server adds: gunicorn keeps its database connections (`DB_CONN_MAX_AGE=60`, as production does). The
servers: gunicorn with the configuration's defaults (`WEB_CONCURRENCY` = 2 x cores + 1 sync workers, at most 8)
and runserver (one process, a thread per request, `--noreload`). The load comes from `wrk` when it is installed
(`apt-get install wrk`), else from a small client of threads with http.client in 4 processes; the servers are
measured alternately, `--rounds` times each, after a warm-up. Target: gunicorn >= 1.8x runserver.

Last run (5 December 2026, 18:50 UTC, 2 cores, load average 2.9 before, load from wrk): runserver 104.4 req/s,
gunicorn 194.9 req/s (best 212.4): 1.87x. Without the persistent connections gunicorn gave 101.5 req/s (1.17x); with
the Python client instead of wrk, which takes the same cores, 1.33x.
"""
import argparse
import datetime as dt
import http.client
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
os.environ["TEST_DATABASE_NAME"] = "bench_fd_web"
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

PATH = "/v1/appointments"


def seed():
    """The clinic, its agenda and a read key; returns the key."""
    from clinics.models import ApiKey, Clinic
    from scheduling.models import Appointment, Patient, Professional, Service

    clinic = Clinic.objects.create(name="Bench web", slug="bench-web", timezone="Europe/Lisbon",
                                   phone="+351210000000")
    service = Service.objects.create(clinic=clinic, name="Consulta", duration_minutes=30)
    professionals = [Professional.objects.create(clinic=clinic, name=f"Dr. {n}") for n in range(4)]
    patients = []
    for n in range(200):
        patient = Patient(clinic=clinic, name=f"Maria Silva {n}", phone=f"+35191{n:07d}")
        patient.refresh_indexes()
        patients.append(patient)
    Patient.objects.bulk_create(patients)
    start = (timezone.now() + dt.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    rows = []
    for n in range(400):
        starts = start + dt.timedelta(days=n // 64, minutes=30 * (n % 16))
        professional = professionals[(n // 16) % 4]
        rows.append(Appointment(clinic=clinic, patient=patients[n % 200], professional=professional,
                                service=service, starts_at=starts, ends_at=starts + dt.timedelta(minutes=30),
                                occupied=(starts, starts + dt.timedelta(minutes=30)), source="api"))
    Appointment.objects.bulk_create(rows)
    _key, raw = ApiKey.issue(clinic, "bench", permissions=("read",))
    return raw


def server_env(database_name):
    env = dict(os.environ)
    url = env.get("DATABASE_URL", "")
    env["DATABASE_URL"] = re.sub(r"(postgres(?:ql)?://[^/]*/)[^?]*", rf"\g<1>{database_name}", url)
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.development", "DEBUG": "0", "LOG_LEVEL": "WARNING",
                "ALLOWED_HOSTS": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"})
    env.pop("TEST_DATABASE_NAME", None)
    return env


def start(kind, port, env):
    if kind == "gunicorn":
        # The production server: gunicorn with production's persistent connections (config/settings/production.py
        # DB_CONN_MAX_AGE=60, health-checked); runserver opens one per request-thread whatever the setting.
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "DB_CONN_MAX_AGE": env.get("DB_CONN_MAX_AGE", "60")}
        command = [str(ROOT / ".venv/bin/gunicorn"), "-c", "config/gunicorn.conf.py", "config.wsgi"]
    else:
        command = [str(ROOT / ".venv/bin/python"), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    log = open(f"/tmp/bench-web-{kind}-{os.getpid()}.log", "w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log if kind == "runserver" else subprocess.DEVNULL,
                               stderr=log, start_new_session=True)
    process.log_path = log.name
    return process


def wait_ready(port, key, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on {port} exited with {process.returncode}: "
                               f"{open(process.log_path).read()[-2000:]}")
        try:
            status, _ = get(port, key)
            if status == 200:
                return
            raise RuntimeError(f"GET {PATH} answered {status}")
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the server on {port} did not answer within {timeout} s")


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def get(port, key, connection_=None):
    conn = connection_ or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", PATH, headers={"Authorization": f"Bearer {key}"})
    response = conn.getresponse()
    response.read()
    if connection_ is None or response.getheader("Connection", "").lower() == "close":
        conn.close()
    return response.status, conn


def _client_process(port, key, threads, seconds, queue):
    counts = {"ok": 0, "other": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker():
        ok = other = 0
        while time.monotonic() < deadline:
            try:
                status, _ = get(port, key)
            except OSError:
                other += 1
                continue
            if status == 200:
                ok += 1
            else:
                other += 1
        with lock:
            counts["ok"] += ok
            counts["other"] += other

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    queue.put(counts)


def load(port, key, clients, seconds):
    """(requests/s of 200 answers, count of other answers)."""
    if shutil.which("wrk"):
        output = subprocess.run(["wrk", f"-t{min(clients, 4)}", f"-c{clients}", f"-d{seconds}s", "--latency", "--timeout", "30s",
                                 "-H", f"Authorization: Bearer {key}", f"http://127.0.0.1:{port}{PATH}"],
                                capture_output=True, text=True, check=True).stdout
        total = int(re.search(r"(\d+) requests in", output).group(1))
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        bad = int(errors.group(1)) if errors else 0
        socket_errors = re.search(r"Socket errors: (.*)", output)
        if socket_errors:
            print(f"    wrk socket errors: {socket_errors.group(1)}")
        p50 = re.search(r"50%\s+(\S+)", output).group(1)
        return (total - bad) / seconds, bad, p50
    queue = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=_client_process, args=(port, key, clients // 4, seconds, queue))
                 for _ in range(4)]
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    return sum(r["ok"] for r in results) / seconds, sum(r["other"] for r in results), "n/a"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    old_name = connection.settings_dict["NAME"]
    database_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    servers = {}
    try:
        key = seed()
        connection.close()
        env = server_env(database_name)
        servers = {"runserver": (start("runserver", 8731, env), 8731),
                   "gunicorn": (start("gunicorn", 8732, env), 8732)}
        for _name, (process, port) in servers.items():
            wait_ready(port, key, process)
        print(f"{PATH} (50 appointments a page), {args.clients} concurrent clients, {args.seconds} s a run, "
              f"load from {'wrk' if shutil.which('wrk') else 'Python threads'}; gunicorn workers: "
              f"{os.environ.get('WEB_CONCURRENCY') or min(2 * os.cpu_count() + 1, 8)}; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before")
        rates = {name: [] for name in servers}
        for name, (_process, port) in servers.items():
            load(port, key, args.clients, 10)  # warm-up: each gunicorn worker imports the project on its first request
        for round_ in range(args.rounds):
            for name, (_process, port) in servers.items():
                rate, bad, p50 = load(port, key, args.clients, args.seconds)
                rates[name].append(rate)
                print(f"  round {round_ + 1} {name:9}: {rate:8.1f} req/s, p50 {p50}, {bad} non-200 answers, "
                      f"load average {os.getloadavg()[0]:.2f}")
        best = {name: max(values) for name, values in rates.items()}
        mean = {name: sum(values) / len(values) for name, values in rates.items()}
        print(f"runserver {mean['runserver']:.1f} req/s (best {best['runserver']:.1f}), gunicorn "
              f"{mean['gunicorn']:.1f} req/s (best {best['gunicorn']:.1f}); gunicorn / runserver = "
              f"{mean['gunicorn'] / mean['runserver']:.2f}x on the means (target >= 1.8x)")
    finally:
        for process, _port in servers.values():
            stop(process)
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
