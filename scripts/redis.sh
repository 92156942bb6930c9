#!/usr/bin/env bash
# `scripts/redis.sh start`: exit 0 when Redis answers on REDIS_URL, starting a local redis-server (daemon, no
# persistence, pid in .data/redis.pid) where it is installed and down; exit 1 when there is no Redis to use.
# Prints "started" when it started one, so the caller can stop it (`kill "$(cat .data/redis.pid)"`).
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
url=${REDIS_URL-redis://127.0.0.1:6379/0}
[ -n "$url" ] || exit 1

answers() {
  $py - "$url" <<'PY'
import socket, sys
from urllib.parse import urlparse
url = urlparse(sys.argv[1])
try:
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), timeout=0.5) as connection:
        connection.sendall(b"PING\r\n")
        sys.exit(0 if connection.recv(64).startswith(b"+PONG") else 1)
except OSError:
    sys.exit(1)
PY
}

answers && exit 0
host=$($py -c 'import sys; from urllib.parse import urlparse; u = urlparse(sys.argv[1]); print(u.hostname or "127.0.0.1", u.port or 6379)' "$url")
port=${host#* }
host=${host% *}
case "$host" in 127.0.0.1|localhost) ;; *) exit 1 ;; esac
command -v redis-server >/dev/null 2>&1 || exit 1
mkdir -p .data
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
  --pidfile "$PWD/.data/redis.pid" --logfile "$PWD/.data/redis.log" >/dev/null
for _ in $(seq 50); do
  if answers; then echo started; exit 0; fi
  sleep 0.1
done
exit 1
