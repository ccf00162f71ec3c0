# The two commands of the README: `make demo` runs the platform, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test lint bench serve clean help

help:
	@echo "make demo   create .venv, migrate ./var/smartcity.db, load the demo city, serve on 127.0.0.1:8000 with live sensor feeds"
	@echo "make test   install the dev dependencies and run the whole suite (SMARTCITY_TEST_DATABASE_URL for PostgreSQL)"
	@echo "make lint   ruff"
	@echo "make bench  benchmarks (BENCH_ARGS='--postgis-url postgresql+psycopg://…' adds the PostGIS reference)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(VENV)/.runtime

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

demo: $(VENV)/.runtime
	$(BIN)/smartcity demo
	SMARTCITY_DEMO_FEEDS=true SMARTCITY_RUN_SCHEDULE=true $(BIN)/smartcity serve

test: $(VENV)/.dev node_modules/.installed
	@scripts/install-system-deps chromium mosquitto || echo "Browser and MQTT tests need Debian's chromium and mosquitto; they will be skipped."
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: $(VENV)/.dev
	$(BIN)/python bench/bench_places.py $(BENCH_ARGS)
	$(BIN)/python bench/bench_cases.py
	$(BIN)/python bench/bench_hotline.py
	$(BIN)/python bench/bench_sensing.py
	$(BIN)/python bench/bench_alerts.py
	$(BIN)/python bench/bench_alarm_latency.py
	$(BIN)/python bench/bench_traffic.py
	$(BIN)/python bench/bench_ops.py

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check smartcity

clean:
	rm -rf $(VENV) node_modules var .pytest_cache
