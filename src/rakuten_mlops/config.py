"""Typed settings read from the environment (and `.env`), validated when first asked for.

Nothing happens at import time: call ``get_settings()`` where a value is needed, and
``Settings.prepare()`` once in an entry point to create the local state folders.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from rakuten_mlops.errors import ConfigError

DEFAULT_MODEL_NAME = "rakuten-product-classifier"
# What `POST /events` starts: event name -> deployment (flow/name); RUN_EVENTS (JSON) replaces it.
DEFAULT_RUN_EVENTS = {
    "dataset.uploaded": "training-pipeline/on-demand",
    "drift.detected": "monitor-and-retrain/daily",
}


class Settings(BaseSettings):
    """Every setting of the stack; all optional, with defaults for a local laptop run."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    mlops_home: Annotated[Path, Field(alias="MLOPS_HOME")] = Path(".mlops")
    database_url: Annotated[str | None, Field(alias="DATABASE_URL")] = None
    mlflow_tracking_uri: Annotated[str | None, Field(alias="MLFLOW_TRACKING_URI")] = None
    model_name: Annotated[str, Field(alias="MODEL_NAME", min_length=1)] = DEFAULT_MODEL_NAME
    api_url: Annotated[str, Field(alias="API_URL")] = "http://127.0.0.1:8000"
    # Unset means admin endpoints are refused; there is deliberately no default key.
    api_key: Annotated[str | None, Field(alias="API_KEY")] = None
    prometheus_url: Annotated[str, Field(alias="PROMETHEUS_URL")] = "http://127.0.0.1:9090"

    # Users and settings (rakuten_mlops.auth). SECRET_KEY encrypts the secrets of the settings store;
    # without it nothing secret can be stored. ADMIN_PASSWORD creates the first admin at first start.
    secret_key: Annotated[SecretStr | None, Field(alias="SECRET_KEY")] = None
    admin_password: Annotated[SecretStr | None, Field(alias="ADMIN_PASSWORD")] = None
    # A login form before every page of the control room (true in the compose deployment).
    ui_auth: Annotated[bool, Field(alias="UI_AUTH")] = False
    # Wrong credentials from one client: after this many within the window, it is refused (429).
    auth_max_failures: Annotated[int, Field(alias="AUTH_MAX_FAILURES", ge=1)] = 10
    auth_failure_window_seconds: Annotated[float, Field(alias="AUTH_FAILURE_WINDOW_SECONDS", gt=0.0)] = 300.0
    # Alert delivery to the webhooks of the settings store: attempts per webhook, and how long the same
    # alert (kind and subject) is not sent again to a webhook.
    alert_delivery_attempts: Annotated[int, Field(alias="ALERT_DELIVERY_ATTEMPTS", ge=1, le=10)] = 3
    alert_cooldown_seconds: Annotated[float, Field(alias="ALERT_COOLDOWN_SECONDS", ge=0.0)] = 3600.0

    # The assistant's planner: the built-in one (offline), or any OpenAI-compatible chat-completions
    # endpoint with tool calling (Ollama, vLLM, OpenAI...). The key is a secret: never logged.
    assistant_backend: Annotated[Literal["builtin", "openai"], Field(alias="ASSISTANT_BACKEND")] = "builtin"
    assistant_base_url: Annotated[str | None, Field(alias="ASSISTANT_BASE_URL")] = None
    assistant_model: Annotated[str | None, Field(alias="ASSISTANT_MODEL")] = None
    assistant_api_key: Annotated[SecretStr | None, Field(alias="ASSISTANT_API_KEY")] = None

    ingest_chunk_rows: Annotated[int, Field(alias="INGEST_CHUNK_ROWS", ge=100)] = 20_000
    split_seed: Annotated[int, Field(alias="SPLIT_SEED")] = 42
    promotion_min_improvement: Annotated[float, Field(alias="PROMOTION_MIN_IMPROVEMENT", ge=0.0)] = 0.0
    # The gate's paired test: the challenger must be better at this confidence (rakuten_mlops.gate).
    promotion_confidence: Annotated[float, Field(alias="PROMOTION_CONFIDENCE", ge=0.5, le=0.999)] = 0.95
    # How often each API worker checks whether the champion alias moved (POST /model/reload is immediate).
    model_poll_seconds: Annotated[float, Field(alias="MODEL_POLL_SECONDS", ge=0.0)] = 30.0
    # Off only to measure what the inference log costs (scripts/bench_serving.py); keep it on.
    inference_log: Annotated[bool, Field(alias="INFERENCE_LOG")] = True
    # Past this many seconds on one batch the log's writer gives up on a database that hangs, and is replaced.
    inference_log_write_timeout: Annotated[float, Field(alias="INFERENCE_LOG_WRITE_TIMEOUT", ge=1.0)] = 30.0
    # Seconds a client may take between two pieces of a request body before it is answered 408.
    api_body_timeout: Annotated[float, Field(alias="API_BODY_TIMEOUT", gt=0.0)] = 10.0
    # Connections and requests one API worker handles at once; past this it answers 503 at once.
    api_max_concurrency: Annotated[int, Field(alias="API_MAX_CONCURRENCY", ge=1)] = 1_000

    # Monitoring (the monitor-and-retrain flow and the API's drift gauges).
    # Share of monitored descriptors that must drift for the window to count as drifted.
    drift_threshold: Annotated[float, Field(alias="DRIFT_THRESHOLD", gt=0.0, le=1.0)] = 0.5
    # How many of the newest predictions a drift check compares with the champion's reference.
    drift_window: Annotated[int, Field(alias="DRIFT_WINDOW", ge=100)] = 5_000
    # Labelled listings ingested since the champion was trained before drift triggers a retraining.
    retrain_min_new_rows: Annotated[int, Field(alias="RETRAIN_MIN_NEW_ROWS", ge=0)] = 1_000
    # Live accuracy (from feedback) this far below the champion's test accuracy raises an alert...
    accuracy_drop_tolerance: Annotated[float, Field(alias="ACCURACY_DROP_TOLERANCE", ge=0.0, le=1.0)] = 0.10
    # ...once at least this many predictions have feedback.
    accuracy_min_feedback: Annotated[int, Field(alias="ACCURACY_MIN_FEEDBACK", ge=1)] = 50
    # How long the API keeps the latest drift report before reading the database again.
    drift_gauge_seconds: Annotated[float, Field(alias="DRIFT_GAUGE_SECONDS", ge=0.0)] = 30.0
    # The training search's candidates run on this Dask scheduler (tcp://host:8786); unset: a local cluster.
    dask_scheduler_address: Annotated[str | None, Field(alias="DASK_SCHEDULER_ADDRESS")] = None

    # Datasets workbench: the largest file a user may add (CLI, control room and POST /datasets).
    dataset_max_mb: Annotated[float, Field(alias="DATASET_MAX_MB", gt=0.0)] = 200.0

    # Runs: which deployment each event of `POST /events` starts (a JSON object in RUN_EVENTS).
    run_events: Annotated[dict[str, str], Field(alias="RUN_EVENTS")] = DEFAULT_RUN_EVENTS

    @field_validator("run_events", mode="after")
    @classmethod
    def _event_targets(cls, value: dict[str, str]) -> dict[str, str]:
        for event, deployment in value.items():
            if not event.strip() or "/" not in deployment:
                raise ValueError(
                    f"RUN_EVENTS maps {event!r} to {deployment!r}; expected an event name and a FLOW/NAME "
                    'deployment, for example {"dataset.uploaded": "training-pipeline/on-demand"}'
                )
        return value

    @field_validator("mlops_home", mode="after")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator(
        "database_url",
        "mlflow_tracking_uri",
        "secret_key",
        "admin_password",
        "dask_scheduler_address",
        "assistant_base_url",
        "assistant_model",
        "assistant_api_key",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("dask_scheduler_address", mode="after")
    @classmethod
    def _scheduler_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        scheme, sep, rest = value.rpartition("://")
        host, _, port = (rest if sep else value).rpartition(":")
        if (sep and scheme not in {"tcp", "tls"}) or not host or not port.isdigit():
            raise ValueError(f"{value!r} is not a Dask scheduler address (expected e.g. tcp://10.0.0.5:8786)")
        return value

    @model_validator(mode="after")
    def _derive_urls(self) -> Settings:
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.mlops_home / 'app.db'}"
        if self.mlflow_tracking_uri is None:
            self.mlflow_tracking_uri = f"sqlite:///{self.mlops_home / 'mlflow.db'}"
        try:
            url = make_url(self.database_url)
        except ArgumentError as exc:
            raise ValueError(
                f"DATABASE_URL {self.database_url!r} is not a database URL "
                "(expected e.g. sqlite:///path/app.db or postgresql://user:pass@host:5432/db)"
            ) from exc
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError(
                f"DATABASE_URL uses {url.get_backend_name()!r}; only sqlite and postgresql are supported"
            )
        return self

    @property
    def db_url(self) -> str:
        """The database URL, always set after validation."""
        assert self.database_url is not None
        return self.database_url

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking URI, always set after validation."""
        assert self.mlflow_tracking_uri is not None
        return self.mlflow_tracking_uri

    @property
    def artifacts_dir(self) -> Path:
        """Where a local MLflow store keeps its artifacts."""
        return self.mlops_home / "mlartifacts"

    @property
    def reports_dir(self) -> Path:
        """Where drift reports are written."""
        return self.mlops_home / "reports"

    @property
    def spool_dir(self) -> Path:
        """Where the inference log spools rows while the database is down."""
        return self.mlops_home / "spool"

    @property
    def datasets_dir(self) -> Path:
        """Where the datasets workbench keeps uploaded files, their rows, pipelines and run logs."""
        return self.mlops_home / "datasets"

    @property
    def dataset_max_bytes(self) -> int:
        """DATASET_MAX_MB in bytes."""
        return int(self.dataset_max_mb * 1024 * 1024)

    @property
    def logs_dir(self) -> Path:
        """Where the native stack writes its process logs."""
        return self.mlops_home / "logs"

    def prepare(self) -> Settings:
        """Create the local state folders, or fail with one sentence naming the folder."""
        for folder in (self.mlops_home, self.artifacts_dir, self.reports_dir, self.spool_dir, self.logs_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"MLOPS_HOME folder {folder} cannot be created: {exc.strerror}") from exc
        if not os.access(self.mlops_home, os.W_OK):
            raise ConfigError(
                f"MLOPS_HOME {self.mlops_home} is not writable; set MLOPS_HOME to a writable folder"
            )
        return self


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment and overrides, turning bad values into ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid setting {field}: {message}" if field else message) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (cached; call ``get_settings.cache_clear()`` in tests)."""
    return load_settings()
