# Rakuten MLOps — every target installs what it needs first. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
TORCH_VERSION := 2.13.0
API_PORT ?= 8000
DEMO_ROWS ?= 20000
PYTEST_ARGS ?=
# The suite runs on this many pytest-xdist workers, a test file to a worker (0: in this process, one by one).
PYTEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help install install-torch system-deps demo up down ui test lint format clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q uv==$(UV_VERSION)
	# --compile-bytecode: imports read .pyc files from the first run on, even where the environment
	# forbids writing them (PYTHONDONTWRITEBYTECODE); importing MLflow from source took 8 s per process.
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@touch $@

install: $(VENV)/.installed ## Create .venv and install the locked dependencies and the package

$(VENV)/.torch: $(VENV)/.installed
	$(BIN)/python -m pip install -q torch==$(TORCH_VERSION)
	@touch $@

install-torch: $(VENV)/.torch ## Add PyTorch for the torch trainer (CPU build where one is available)

system-deps: ## Debian packages the tests use: PostgreSQL server binaries, Prometheus, docker-compose, Chromium, WordNet
	@missing=""; \
	command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	test -f /usr/share/wordnet/data.noun || missing="$$missing wordnet-base"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "The tests need these Debian packages:$$missing (sudo apt-get install$$missing)"; exit 1; fi

demo: install ## Database, sample listings, profile, train and promote a champion, then start the whole stack
	$(BIN)/rakuten-mlops db upgrade
	$(BIN)/rakuten-mlops ingest sample --rows $(DEMO_ROWS)
	$(BIN)/rakuten-mlops data profile
	$(BIN)/rakuten-mlops train
	$(BIN)/rakuten-mlops models list
	$(BIN)/rakuten-mlops up --api-port $(API_PORT)

up: install ## Start the whole stack natively on 127.0.0.1 under supervisord (MLflow, Prefect, deployments, API, control room, Prometheus; a crashed service is restarted); Ctrl-C or `make down` stops it
	$(BIN)/rakuten-mlops up --api-port $(API_PORT)

down: ## Stop the stack started by `make up` (every process)
	$(BIN)/rakuten-mlops down

ui: install ## The control room on 127.0.0.1:8501 (streamlit)
	$(BIN)/streamlit run streamlit_app/Home.py --server.address 127.0.0.1 --server.headless true

test: install install-torch system-deps ## Run the whole test suite (installs what it needs first)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: install ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install ## Format and auto-fix the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## Remove the virtual environment, local state and caches
	rm -rf $(VENV) .mlops .pytest_cache .mypy_cache .ruff_cache bench-results test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# Docker compose deployment: start-infra, start-api, start-monitor, start-full, stop, compose-config.
include mk/compose.mk
