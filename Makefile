# clinicdesk: `make run` serves the demo practice, `make test` runs the whole suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A Python >= 3.12: a working python3.13/python3.12 on PATH first, then pyenv's installed versions.
PYTHON ?= $(shell bash scripts/find_python.sh)
VENV := .venv
VPY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help venv deps assets install migrate demo run worker test test-fast system-deps browser-deps lint bench clean

help:
	@echo "make run      install, migrate, load the demo practice and serve http://$(HOST):$(PORT)"
	@echo "make install  dependencies, front-end assets and migrations only"
	@echo "make test     install what the tests need and run the whole suite"
	@echo "make lint     ruff (with the bandit rules)"
	@echo "make bench    benchmark scripts; numbers go to docs/benchmarks.md"

$(VPY):
	@test -n "$(PYTHON)" || { echo "No Python >= 3.12 found (tried python3.13, python3.12 and pyenv)."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(UV): | $(VPY)
	$(VPY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): requirements.lock pyproject.toml | $(UV)
	$(UV) pip sync --quiet --python $(VPY) requirements.lock
	$(VPY) -c "from clinicdesk.rostering.solver.rows import warm; warm()"
	touch $(STAMP)

deps: $(STAMP)

node_modules/.package-lock.json: package-lock.json package.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

VENDOR := clinicdesk/static/vendor
# Front-end libraries from package-lock.json, copied into static (never served from a CDN).
VENDOR_FILES := $(VENDOR)/htmx.min.js $(VENDOR)/fullcalendar.min.js $(VENDOR)/chart.umd.min.js
$(VENDOR)/htmx.min.js: node_modules/.package-lock.json
	@mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $@
$(VENDOR)/fullcalendar.min.js: node_modules/.package-lock.json
	@mkdir -p $(VENDOR)
	cp node_modules/fullcalendar-scheduler/index.global.min.js $@
$(VENDOR)/chart.umd.min.js: node_modules/.package-lock.json
	@mkdir -p $(VENDOR)
	cp node_modules/chart.js/dist/chart.umd.min.js $@

assets: $(VENDOR_FILES)

install: system-deps deps assets migrate

migrate: deps
	@mkdir -p var
	$(VPY) manage.py migrate --noinput

demo: install
	$(VPY) manage.py seed_demo

run: demo
	$(VPY) manage.py serve --host $(HOST) --port $(PORT)

# A task worker on its own: RQ when REDIS_URL is set (with the scheduler for deferred tasks), else the database queue.
worker: deps
	$(VPY) manage.py $(if $(REDIS_URL),rqworker default --with-scheduler,db_worker)

# System libraries WeasyPrint needs for PDFs (Pango and fonts), installed only when missing.
system-deps:
	@if ! ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0; then \
	  echo "Installing Pango and fonts for PDF output"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; \
	fi

# PostgreSQL's client tools for `manage.py backup` and `restore` on PostgreSQL (pg_dump, pg_restore), installed when
# missing or older than 15 (a client must be of the server's major version or newer; Debian 12 ships 15).
	@if ! command -v pg_restore >/dev/null || [ "$$(pg_restore --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')" -lt 15 ]; then \
	  echo "Installing the PostgreSQL client tools for backups"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql-client >/dev/null; \
	fi

# Chromium from Debian for the browser tests, installed only when missing.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Debian chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi
	@command -v pdftotext >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq poppler-utils >/dev/null; }

# Tests run in parallel (pytest-xdist), one worker per core up to four; TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= auto
PYTEST_PARALLEL := -n $(TEST_WORKERS) --maxprocesses=4
# Compiled bytecode kept under var/pycache, also where the environment turns writing it off: otherwise every test
# process (the workers, and the commands and servers the tests start) compiles the code it imports again, about
# 9 s of CPU each. Python checks each cached file against its source.
PYTEST_ENV := PYTHONPYCACHEPREFIX=$(CURDIR)/var/pycache PYTHONDONTWRITEBYTECODE=

test: system-deps deps assets browser-deps
	$(PYTEST_ENV) $(VPY) -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

test-fast: deps assets
	$(PYTEST_ENV) $(VPY) -m pytest -m "not browser" $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: deps
	$(VPY) -m ruff check .

bench: install
	$(VPY) bench/run_all.py

clean:
	rm -rf $(VENV) node_modules var clinicdesk/static/vendor
