# syntax=docker/dockerfile:1
# Images of the stack, one target per service, all from the same locked dependencies:
#
#   api             the prediction API (rakuten-mlops serve, several workers)        :8000
#   flows           the Prefect deployments process (python -m flows.deployments)
#   ui              the Streamlit control room                                        :8501
#   mlflow          the MLflow tracking server and registry                           :5000
#   prefect-server  the Prefect API and UI                                            :4200
#
# Build one with `docker build --target api -t rakuten-mlops/api .`; the compose files
# build them all. Client and servers share one install, so the MLflow and Prefect servers
# always run the versions the code was tested with.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- builder: a virtual environment with the locked dependencies and the package --------
FROM ${PYTHON_IMAGE} AS builder
ARG UV_VERSION=0.13.9
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1
RUN pip install --no-cache-dir "uv==${UV_VERSION}" \
    && python -m venv /opt/venv
WORKDIR /src
# The lock file alone first: this slow layer is rebuilt only when a dependency changes.
COPY requirements.lock ./
RUN uv pip install --no-cache --python /opt/venv/bin/python -r requirements.lock
COPY pyproject.toml README.md ./
COPY src ./src
COPY flows ./flows
# A regular (non-editable) install: the image needs no source tree for the package and flows.
RUN uv pip install --no-cache --python /opt/venv/bin/python --no-deps .

# ---- base: the runtime every service starts from ----------------------------------------
# Code is owned by root and read-only for the service user; it writes only to MLOPS_HOME
# (/var/lib/rakuten-mlops), /mlartifacts (the MLflow server's volume) and /tmp.
FROM ${PYTHON_IMAGE} AS base
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MLOPS_HOME=/var/lib/rakuten-mlops \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false
RUN groupadd --system --gid 10001 rakuten \
    && useradd --system --uid 10001 --gid rakuten --create-home --home-dir /home/rakuten \
       --shell /usr/sbin/nologin rakuten \
    && install -d -o rakuten -g rakuten /var/lib/rakuten-mlops /mlartifacts
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# Numeric, so Kubernetes can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001

# ---- api: FastAPI under uvicorn, API_WORKERS processes sharing Prometheus samples --------
FROM base AS api
ENV API_WORKERS=4 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus-multiproc
COPY --chmod=0755 deploy/docker/serve-api.sh /usr/local/bin/serve-api
EXPOSE 8000
# /health is liveness only; /ready (a champion is loaded) is for load balancers and k8s.
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["serve-api"]

# ---- flows: registers and runs the Prefect deployments (daily monitor, on-demand runs) ---
FROM base AS flows
# The runner's own webserver answers /health while it keeps polling the Prefect API.
ENV PREFECT_RUNNER_SERVER_ENABLE=true \
    PREFECT_RUNNER_SERVER_HOST=127.0.0.1 \
    PREFECT_RUNNER_SERVER_PORT=8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]
CMD ["python", "-m", "flows.deployments"]

# ---- ui: the Streamlit control room --------------------------------------------------------
FROM base AS ui
ENV STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
COPY streamlit_app ./streamlit_app
# The Kubernetes page renders the monitoring stack from the project's own Prometheus and Grafana files.
COPY monitoring ./monitoring
COPY grafana ./grafana
EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
CMD ["streamlit", "run", "streamlit_app/Home.py", "--server.port", "8501", "--server.address", "0.0.0.0", "--server.headless", "true", "--client.toolbarMode", "viewer"]

# ---- mlflow: tracking server and registry; artifacts proxied to /mlartifacts (a volume) --
FROM base AS mlflow
# One worker and no job runner: ~0.5 GB instead of ~2.8 GB, ready in seconds.
# MLFLOW_BACKEND_STORE_URI (postgresql://...) comes from the environment.
ENV MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=4)"]
CMD ["sh", "-c", "exec mlflow server --host 0.0.0.0 --port 5000 --workers 1 --backend-store-uri \"${MLFLOW_BACKEND_STORE_URI:?set MLFLOW_BACKEND_STORE_URI to postgresql://USER:PASSWORD@HOST:5432/mlflow}\" --artifacts-destination /mlartifacts"]

# ---- prefect-server: the Prefect API and UI on PostgreSQL ---------------------------------
FROM base AS prefect-server
# PREFECT_API_DATABASE_CONNECTION_URL (postgresql+asyncpg://...) comes from the environment.
EXPOSE 4200
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4200/api/health', timeout=4)"]
CMD ["prefect", "server", "start", "--host", "0.0.0.0", "--port", "4200"]
