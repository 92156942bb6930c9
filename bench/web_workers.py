"""Requests per second and p95 of 1, 2 and 4 gunicorn workers side by side, under the same locust load.

    .venv/bin/pip install -r bench/requirements.txt
    DATABASE_URL=postgresql://... .venv/bin/python bench/web_workers.py [--workers 1 2 4] [--users 20] [--seconds 30]

Works in a database of its own (`bench_fd_web` on the server of DATABASE_URL: created, migrated and seeded with the
demo clinic when missing, kept for the next run) and a cache key prefix of its own on REDIS_URL. For each worker
count it starts `gunicorn -c config/gunicorn.conf.py config.wsgi` as `make run` does (DEBUG off, one thread per
worker), waits for /health, runs bench/locustfile.py headless, stops gunicorn, and prints one table. The figures
are this machine's: other work running at the same time lowers them.
"""
import argparse
import csv
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATABASE = "bench_fd_web"

CREDENTIALS = """
import json
from clinics.models import ApiKey, Clinic
from scheduling.models import Service
from telephony.agents import agent_for, agent_token_regenerate
clinic = Clinic.objects.get(slug="demo")
_key, raw = ApiKey.issue(clinic, "bench web workers", permissions=("read",))
agent, token = agent_token_regenerate(agent=agent_for(clinic))
service = Service.objects.for_clinic(clinic).filter(active=True, online_bookable=True).order_by("name").first()
print(json.dumps({"BENCH_API_KEY": raw, "BENCH_AGENT_TOKEN": token, "BENCH_AGENT_ID": agent.agent_id,
                  "BENCH_SERVICE_ID": str(service.id)}))
"""


def bench_database_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + DATABASE, parts.query, parts.fragment))


def ensure_database(env):
    import psycopg

    admin = urlsplit(os.environ["DATABASE_URL"])
    with psycopg.connect(urlunsplit((admin.scheme, admin.netloc, "/postgres", admin.query, "")),
                         autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            connection.execute(f'CREATE DATABASE "{DATABASE}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def credentials(env) -> dict:
    import json

    out = subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c", CREDENTIALS], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def wait_healthy(url, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=15) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url}/health did not answer 200 within {timeout} s")


def run(workers, args, env, port, out_dir):
    url = f"http://127.0.0.1:{port}"
    server_env = {**env, "WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": "1", "GUNICORN_BIND": f"127.0.0.1:{port}",
                  "LOG_LEVEL": "WARNING"}
    log = open(out_dir / f"gunicorn-{workers}.log", "wb")
    server = subprocess.Popen([str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py", "config.wsgi",
                               "--access-logfile", "/dev/null"], cwd=ROOT, env=server_env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_healthy(url)
        prefix = str(out_dir / f"workers{workers}")
        subprocess.run([str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                        "-u", str(args.users), "-r", str(args.users), "-t", f"{args.seconds}s", "--host", url,
                        "--csv", prefix, "--only-summary", "--loglevel", "WARNING"],
                       cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(prefix + "_stats.csv", newline="") as handle:
            rows = {row["Name"]: row for row in csv.DictReader(handle)}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL (the server where the bench database is created).")
    env = {**os.environ, "DATABASE_URL": bench_database_url(os.environ["DATABASE_URL"]),
           "DJANGO_SETTINGS_MODULE": "config.settings.development", "DEBUG": "0",
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "SITE_URL": f"http://127.0.0.1:{args.port}",
           "CACHE_KEY_PREFIX": f"bench-web-{uuid.uuid4().hex[:8]}",
           "PYTHONWARNINGS": "ignore"}
    ensure_database(env)
    env.update(credentials(env))
    out_dir = ROOT / ".data" / "bench-web"
    out_dir.mkdir(parents=True, exist_ok=True)

    results = {workers: run(workers, args, env, args.port, out_dir) for workers in args.workers}

    cores = os.cpu_count()
    print(f"\n{args.users} locust users, {args.seconds} s per run, {cores} cores shared with other work; "
          "p95 in ms (locust's percentiles, rounded)")
    names = sorted({name for rows in results.values() for name in rows if name != "Aggregated"})
    header = f"{'endpoint':<42}" + "".join(f"{f'{w} worker(s) req/s':>20}{'p95':>8}" for w in args.workers)
    print(header)
    print("-" * len(header))
    for name in names + ["Aggregated"]:
        line = f"{name:<42}"
        for workers in args.workers:
            row = results[workers].get(name)
            line += (f"{float(row['Requests/s']):>20.1f}{row['95%']:>8}" if row else f"{'-':>20}{'-':>8}")
        print(line)
    failures = {w: results[w]["Aggregated"]["Failure Count"] for w in args.workers if "Aggregated" in results[w]}
    print(f"failures (not counting documented 429s): {failures}")


if __name__ == "__main__":
    main()
