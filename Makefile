# The two commands of the README. Everything they need is installed on first use:
# Python packages into .venv (pip's cache lives in ~/.cache/pip), Redis from Debian's
# packages, the Kafka broker's jars from Maven Central into ~/.cache/livesale. Only
# `livesale stack up` installs anything; `livesale serve` never does.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint stack-up stack-down bench

## Run the service on http://127.0.0.1:8080 (starts local Redis and Kafka when none is configured).
## On the local stack the viewer page signs anyone in (LIVESALE_DEMO_VIEWER_TOKENS=0 turns it off).
## hls.js (pinned, checked) goes into server/web/vendor/; the local test streams of
## `livesale stream --room ROOM` are served from the stack's media folder.
run: $(STAMP)
	$(BIN)/python -m deploy.web_assets
ifeq ($(LIVESALE_REDIS_URL)$(LIVESALE_KAFKA_BOOTSTRAP),)
	$(BIN)/livesale stack up
	LIVESALE_DEMO_VIEWER_TOKENS=$${LIVESALE_DEMO_VIEWER_TOKENS:-1} \
	LIVESALE_MEDIA_DIR=$${LIVESALE_MEDIA_DIR:-$${LIVESALE_STACK_DIR:-$$HOME/.local/state/livesale}/media} \
	$(BIN)/livesale serve
else
	$(BIN)/livesale serve
endif

## Run every check CI runs: ruff, mypy strict, and the tests against real Redis and Kafka.
test: $(STAMP) lint
	$(BIN)/livesale stack up --cluster
	$(BIN)/python -m deploy.tools
	@echo "make test: Redis, Kafka and the Redis Cluster stay running after the tests (for" \
	  "the next run); 'make stack-down' (livesale stack down) stops them."
	$(BIN)/python -m deploy.web_assets
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

stack-up: $(STAMP)
	$(BIN)/livesale stack up

stack-down: $(STAMP)
	$(BIN)/livesale stack down

## Measure hello-world, reservation and sold-out rates of one server process.
bench: $(STAMP)
	$(BIN)/livesale-bench reserve --out docs/bench-latest.json

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)
