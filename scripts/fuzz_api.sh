#!/usr/bin/env bash
# Fuzz every operation of the OpenAPI schema with schemathesis and a real API key; fails on any 5xx.
# Run by hand against a running server (`make run`, or runserver), e.g.
#   scripts/fuzz_api.sh http://127.0.0.1:8000 fd_live_... [max-examples]
# schemathesis is not a project dependency: it is installed into a throwaway venv (/tmp/schemathesis-venv).
# Start the server with the provider webhooks' secrets set (TWILIO_AUTH_TOKEN, ELEVENLABS_WEBHOOK_SECRET,
# DYTE_WEBHOOK_PUBLIC_KEY, STRIPE_WEBHOOK_SECRET; any values): without them those webhooks answer
# 503 WEBHOOK_NOT_CONFIGURED by design (docs/api/README.md), which this run would report.
set -euo pipefail
base=${1:?base URL, e.g. http://127.0.0.1:8000}
key=${2:?an API key of the clinic to fuzz (make run prints one)}
examples=${3:-10}
venv=${SCHEMATHESIS_VENV:-/tmp/schemathesis-venv}
[ -x "$venv/bin/schemathesis" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q schemathesis; }
exec "$venv/bin/schemathesis" run "$base/api/schema/" -H "Authorization: Bearer $key" \
  --checks not_a_server_error --max-examples "$examples" --seed 7 --workers 2
