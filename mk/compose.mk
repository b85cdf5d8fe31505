# Docker compose targets of the stack, included by the Makefile (`make help` lists them).
# Works with `docker compose` (v2) and Debian's `docker-compose` (1.29); set COMPOSE to
# choose, e.g. `make start-full COMPOSE=docker-compose`.

ifeq ($(origin COMPOSE),undefined)
COMPOSE := $(shell if docker compose version >/dev/null 2>&1; then echo "docker compose"; else echo docker-compose; fi)
endif
COMPOSE_ENV_FILE ?= .env
COMPOSE_PROJECT ?= rakuten-mlops
# Seconds a start target waits for its services to turn healthy (first builds excluded).
COMPOSE_WAIT_S ?= 300

COMPOSE_INFRA := docker-compose.infrastructure.yml
COMPOSE_API := docker-compose.api.yml
COMPOSE_MONITOR := docker-compose.monitor.yml
COMPOSE_ALL := $(COMPOSE_INFRA) $(COMPOSE_API) $(COMPOSE_MONITOR)

# Services to publish on the host besides the API and the control room (internal otherwise):
# any of postgres mlflow prefect prometheus grafana, e.g. `make start-full PUBLISH="mlflow grafana"`.
PUBLISH ?=
PUBLISHABLE := postgres mlflow prefect prometheus grafana
ifneq ($(filter-out $(PUBLISHABLE),$(PUBLISH)),)
$(error PUBLISH may name $(PUBLISHABLE); not $(filter-out $(PUBLISHABLE),$(PUBLISH)))
endif
# The publish files for one compose file: its services that PUBLISH names (MLflow's clients in the
# API file sign in to a published MLflow).
publish_for = $(foreach s,$(filter $(PUBLISH),$(1)),-f deploy/compose/publish/$(s).yml)
PUBLISH_INFRA = $(call publish_for,postgres mlflow prefect)
PUBLISH_API = $(if $(filter mlflow,$(PUBLISH)),-f deploy/compose/publish/mlflow-clients.yml)
PUBLISH_MONITOR = $(call publish_for,prometheus grafana)

# Every file of one project: the services of the other files are not "orphans".
compose_cmd = COMPOSE_IGNORE_ORPHANS=true $(COMPOSE) --project-name $(COMPOSE_PROJECT) --env-file $(COMPOSE_ENV_FILE)
# $(call compose_up,FILES): build, start and wait until every service of FILES is healthy.
compose_up = $(compose_cmd) $(strip $(1)) up -d --build && \
	deploy/compose/wait-healthy.sh $(COMPOSE_WAIT_S) $$($(compose_cmd) $(strip $(1)) ps -q)

.PHONY: start-infra start-api start-monitor start-full stop compose-ps compose-logs compose-config compose-tool

compose-tool:
	@command -v $(firstword $(COMPOSE)) >/dev/null && $(COMPOSE) version >/dev/null 2>&1 || { \
		echo "'$(COMPOSE)' is not available: install Docker with its compose plugin, or Debian's docker-compose" >&2; exit 1; }

$(COMPOSE_ENV_FILE):
	@echo "$(COMPOSE_ENV_FILE) is missing: cp .env.example $(COMPOSE_ENV_FILE), then replace every change-me value" >&2; exit 1

start-infra: compose-tool $(COMPOSE_ENV_FILE) ## Start PostgreSQL, MLflow and the Prefect server (docker compose)
	$(call compose_up,-f $(COMPOSE_INFRA) $(PUBLISH_INFRA))

start-api: start-infra ## Start the API, the Prefect deployments and the control room (and the infrastructure)
	$(call compose_up,-f $(COMPOSE_API) $(PUBLISH_API))

start-monitor: compose-tool $(COMPOSE_ENV_FILE) ## Start Prometheus and Grafana (docker compose)
	$(call compose_up,-f $(COMPOSE_MONITOR) $(PUBLISH_MONITOR))

start-full: start-api start-monitor ## Start the whole stack in docker compose
	@echo "API http://127.0.0.1:8000/docs  control room http://127.0.0.1:8501 (sign in as admin, ADMIN_PASSWORD)"
	@echo "published as well: $(or $(PUBLISH),nothing else (PUBLISH=\"mlflow prefect prometheus grafana postgres\"))"

stop: compose-tool $(COMPOSE_ENV_FILE) ## Stop and remove the stack's containers (volumes and data are kept)
	$(compose_cmd) $(addprefix -f ,$(COMPOSE_ALL)) down

compose-ps: compose-tool $(COMPOSE_ENV_FILE) ## State and health of the stack's containers
	$(compose_cmd) $(addprefix -f ,$(COMPOSE_ALL)) ps

compose-logs: compose-tool $(COMPOSE_ENV_FILE) ## Last log lines of every container of the stack
	$(compose_cmd) $(addprefix -f ,$(COMPOSE_ALL)) logs --tail 50

compose-config: compose-tool ## Validate every compose file (with the placeholder values of .env.example)
	@for file in $(COMPOSE_ALL); do \
		$(COMPOSE) --env-file .env.example -f $$file config -q || exit 1; \
		echo "$$file: valid"; \
	done
	@$(COMPOSE) --env-file .env.example $(addprefix -f ,$(COMPOSE_ALL)) config -q && echo "all files together: valid"
	@$(COMPOSE) --env-file .env.example $(addprefix -f ,$(COMPOSE_ALL)) $(addprefix -f deploy/compose/publish/,$(addsuffix .yml,$(PUBLISHABLE) mlflow-clients)) config -q \
		&& echo "with every service published: valid"
