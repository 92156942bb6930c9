#!/usr/bin/env bash
# `make run`: the whole product on one machine, served as in production (gunicorn, DEBUG off, static files by
# WhiteNoise after collectstatic), and everything it started stopped again on Ctrl-C or SIGTERM.
#
# 1. PostgreSQL: DATABASE_URL when set (environment or .env); else the embedded server in .data/pg, started here
#    when it is down and then stopped on exit (a server that was already running is left running).
# 2. migrate, seed the demo clinic, collectstatic.
# 3. Redis on REDIS_URL (a local redis-server is started where installed and down, and stopped on exit); with it,
#    two Celery workers and beat (docs/deploy.md, "Workers"):
#      fast:  celery -A config worker -Q default,messaging,voice -n fast@%h    reminders, SMS, webhooks, calls
#      heavy: celery -A config worker -Q heavy -n heavy@%h --concurrency 1    transcription, embeddings
#      beat:  celery -A config beat
#    so a reminder never waits behind a transcription. Without Redis, tasks run in-process and the cache is local.
# 4. gunicorn (config/gunicorn.conf.py) on HOST:PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:-127.0.0.1}
port=${2:-8000}
py=.venv/bin/python
celery=.venv/bin/celery
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.development}
export SITE_URL=${SITE_URL:-http://$host:$port}
export DEBUG=${DEBUG:-0}
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-$host,127.0.0.1,localhost}
export WEB_CONCURRENCY=${WEB_CONCURRENCY:-2}
export GUNICORN_BIND=$host:$port
mkdir -p .data

pids=()
redis_started=""
database_started=""
postmaster_pid() {  # the embedded server's pid when it runs, else nothing
  local pid
  [ -f .data/pg/postmaster.pid ] || return 1
  pid=$(head -n 1 .data/pg/postmaster.pid)
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}
stop() {  # stop one process (SIGTERM: warm shutdown), killing it after $2 seconds
  local pid=$1 grace=${2:-20}
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq $((grace * 10))); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  trap - INT TERM
  echo
  echo "Stopping..."
  local pid
  for pid in "${pids[@]}"; do stop "$pid" 30 & done
  wait
  if [ -n "$redis_started" ] && [ -f .data/redis.pid ]; then
    stop "$(cat .data/redis.pid)" 10
    echo "Stopped Redis."
  fi
  if [ -n "$database_started" ] && pid=$(postmaster_pid); then
    # SIGINT is PostgreSQL's fast shutdown: sessions are closed, the data is checkpointed.
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "Stopped the embedded PostgreSQL."
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

configured=$($py -c 'from config.embedded_db import configured_database_url; print(configured_database_url())')
if [ -z "$configured" ]; then
  postmaster_pid >/dev/null || database_started=1
  DATABASE_URL=$($py -m config.embedded_db)
  [ -n "$database_started" ] && echo "Started the embedded PostgreSQL in .data/pg (stopped when this exits)."
  export DATABASE_URL
fi

$py manage.py migrate --noinput -v 0
$py manage.py seed_demo
$py manage.py collectstatic --noinput -v 0

if redis_state=$(bash scripts/redis.sh start); then
  [ "$redis_state" = started ] && redis_started=1 && echo "Started Redis (stopped when this exits)."
  $celery -A config worker -Q default,messaging,voice -n "fast@%h" --concurrency 2 --loglevel INFO \
    > .data/celery-fast.log 2>&1 &
  pids+=($!)
  $celery -A config worker -Q heavy -n "heavy@%h" --concurrency 1 --prefetch-multiplier 1 --loglevel INFO \
    > .data/celery-heavy.log 2>&1 &
  pids+=($!)
  $celery -A config beat -s .data/celerybeat-schedule --loglevel INFO > .data/celery-beat.log 2>&1 &
  pids+=($!)
  echo "Celery workers (fast: default, messaging, voice; heavy: heavy) and beat running (logs: .data/celery-*.log)."
else
  # The settings read this decision: an empty REDIS_URL means in-process tasks and a local cache.
  export REDIS_URL="" CELERY_TASK_ALWAYS_EAGER=1
  echo "Redis is not reachable and could not be started: tasks run in-process and the cache is local."
fi

.venv/bin/gunicorn -c config/gunicorn.conf.py config.wsgi &
pids+=($!)
web_pid=$!

echo
echo "Frontdesk is at $SITE_URL/   (API docs: $SITE_URL/docs, health: $SITE_URL/health)"
$py manage.py shell -v 0 -c "from django.conf import settings
from clinics.management.commands.seed_demo import DEMO_CLINIC
print(f\"Booking:   {settings.SITE_URL.rstrip('/')}/booking/{DEMO_CLINIC['slug']}   (the demo clinic's public page)\")"
$py manage.py demo_login
stopped="gunicorn$([ ${#pids[@]} -gt 1 ] && echo ", the Celery workers and beat")"
[ -n "$redis_started" ] && stopped="$stopped, Redis"
[ -n "$database_started" ] && stopped="$stopped, the embedded PostgreSQL"
echo "Ctrl-C stops $stopped."
echo
wait "$web_pid"
