#!/usr/bin/env bash
# Serve the console and the API; run a Celery worker with beat beside it when Redis is up.
set -euo pipefail
host=${1:-127.0.0.1}
port=${2:-8000}
py=.venv/bin/python
export SITE_URL=${SITE_URL:-http://$host:$port}
worker_pid=""
if $py - <<'PY'
import socket, os, sys
from urllib.parse import urlparse
url = urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
try:
    socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), timeout=0.5).close()
except OSError:
    sys.exit(1)
PY
then
  mkdir -p .data
  .venv/bin/celery -A config worker -B --concurrency 2 --loglevel INFO -s .data/celerybeat-schedule \
    > .data/celery.log 2>&1 &
  worker_pid=$!
  echo "Celery worker and beat running (log: .data/celery.log)."
else
  export CELERY_TASK_ALWAYS_EAGER=1
  echo "Redis is not reachable: tasks run in-process and the cache is local."
fi
trap '[ -n "$worker_pid" ] && kill $worker_pid 2>/dev/null || true' EXIT
echo
echo "Frontdesk is at http://$host:$port/   (API docs: http://$host:$port/docs, health: http://$host:$port/health)"
$py manage.py demo_login
echo
DEBUG=${DEBUG:-1} $py manage.py runserver "$host:$port" --noreload
