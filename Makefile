# Frontdesk: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run dev test lint install install-test database migrate seed system-deps clean-data

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(PIP) install -q -r requirements-test.txt
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Settings never start a server: without DATABASE_URL (environment or .env), start the embedded PostgreSQL here
# and export its URL to every later recipe of this make run.
database: install
ifeq ($(strip $(DATABASE_URL)),)
	$(eval export DATABASE_URL := $(shell $(PY) -m config.embedded_db))
	$(if $(DATABASE_URL),,$(error Could not start the embedded PostgreSQL: see the lines above))
endif

migrate: database
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# Console, API and tasks served as in production (gunicorn, DEBUG off, two Celery workers and beat) on embedded
# defaults: the embedded PostgreSQL, Redis where it runs or can be started (else in-process tasks and a local
# cache). scripts/run.sh starts the database itself so that Ctrl-C (or SIGTERM to make) stops everything it started.
run: install
	@bash scripts/run.sh $(HOST) $(PORT)

# Development server with debug pages and autoreload (no workers: tasks in-process unless a worker runs).
dev: seed
	DEBUG=1 SITE_URL=http://$(HOST):$(PORT) $(PY) manage.py runserver $(HOST):$(PORT)

# Debian packages the tests use, installed once where missing: Chromium drives the browser tests,
# espeak-ng speaks the consultations the notes pipeline transcribes, Redis is the broker and cache.
SYSTEM_TOOLS := chromium:chromium espeak-ng:espeak-ng redis-server:redis-server
system-deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing)) >/dev/null; \
	fi

# One test process per core, whole modules to a process; the slowest tests are listed at the end.
PYTEST_ARGS ?= -n auto --dist loadfile --durations=30

test: install-test system-deps database
	@bash scripts/redis.sh start || echo "Redis is not reachable: the tests that need it will fail."
	$(PY) -m pytest $(PYTEST_ARGS)

# The layers of docs/architecture.md and "rest_framework only in surface code" (.importlinter).
lint: install-test
	$(VENV)/bin/lint-imports

clean-data:
	rm -rf .data
