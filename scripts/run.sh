#!/usr/bin/env bash
# Serve the console and the API; run a Celery worker with beat beside it when Redis is up (started here where it
# is installed and down). Without Redis, tasks run in-process and the cache is local. `make run` calls this after
# starting the database and exporting DATABASE_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:-127.0.0.1}
port=${2:-8000}
py=.venv/bin/python
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.development}
export SITE_URL=${SITE_URL:-http://$host:$port}
export DEBUG=${DEBUG:-1}
worker_pid=""
redis_started=""
cleanup() {
  if [ -n "$worker_pid" ]; then kill "$worker_pid" 2>/dev/null || true; wait "$worker_pid" 2>/dev/null || true; fi
  if [ -n "$redis_started" ] && [ -f .data/redis.pid ]; then kill "$(cat .data/redis.pid)" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if redis_state=$(bash scripts/redis.sh start); then
  [ "$redis_state" = started ] && redis_started=1 && echo "Started Redis (stopped when this exits)."
  mkdir -p .data
  .venv/bin/celery -A config worker -B --concurrency 2 --loglevel INFO -s .data/celerybeat-schedule \
    > .data/celery.log 2>&1 &
  worker_pid=$!
  echo "Celery worker and beat running (log: .data/celery.log)."
else
  # The settings read this decision: an empty REDIS_URL means in-process tasks and a local cache.
  export REDIS_URL="" CELERY_TASK_ALWAYS_EAGER=1
  echo "Redis is not reachable and could not be started: tasks run in-process and the cache is local."
fi

echo
echo "Frontdesk is at http://$host:$port/   (API docs: http://$host:$port/docs, health: http://$host:$port/health)"
$py manage.py shell -v 0 -c "from django.conf import settings
from clinics.management.commands.seed_demo import DEMO_CLINIC
print(f\"Booking:   {settings.SITE_URL.rstrip('/')}/booking/{DEMO_CLINIC['slug']}   (the demo clinic's public page)\")"
$py manage.py demo_login
echo
$py manage.py runserver "$host:$port" --noreload
