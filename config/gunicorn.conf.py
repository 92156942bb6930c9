"""Gunicorn, the production web server (`make run`, the Docker image): `gunicorn -c config/gunicorn.conf.py config.wsgi`.

Every value comes from the environment so one image serves any machine (docs/deploy.md):
- `WEB_CONCURRENCY` worker processes (default 2 x cores + 1, at most 8), `GUNICORN_THREADS` threads each;
- `GUNICORN_BIND` (default `0.0.0.0:8000`; `make run` binds its HOST:PORT);
- `GUNICORN_TIMEOUT` seconds a request may take before its worker is replaced (default 60: a 50 MB consultation
  recording upload behind a buffering proxy fits, a stuck request does not hold a worker for ever);
- access and error logs go to stdout/stderr, where the container runtime or `make run` collects them.

`preload_app` is off: each worker imports the project after the fork, so no database connection, Redis pool or
thread started at import time is shared between processes, and `kill -HUP` (graceful reload) picks up new code.
The price is a little more memory per worker; the heavy models (Whisper, MiniLM) are loaded by the Celery
`heavy` worker, not by the web processes.
"""
import multiprocessing
import os


def _int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


bind = os.environ.get("GUNICORN_BIND") or "0.0.0.0:8000"
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8))
threads = _int("GUNICORN_THREADS", 1)
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Replace each worker after this many requests (jittered), so a slow leak never grows without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)
preload_app = False
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# The path without its query string (%(U)s, not the request line %(r)s): a search or a booking link's query may
# carry a name, a phone or an e-mail, and access logs keep no personal data (issue 12, item 15).
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
# The load balancer in front sets X-Forwarded-For/-Proto; trust it only from the addresses named here.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Heartbeat files in memory, not on a container's overlay disk (a slow disk would look like a hung worker).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
proc_name = "frontdesk-web"
# gunicorn's control socket (`gunicornc`) defaults to one path per user, which two servers on one machine would
# share; nothing here uses it.
control_socket_disable = True
