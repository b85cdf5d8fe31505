"""`create_app()`: the prediction API, wired from settings (or from injected parts in tests)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.resources
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import multiprocess
from starlette.exceptions import HTTPException as StarletteHTTPException

from rakuten_mlops import __version__
from rakuten_mlops.auth.limiter import FailureLimiter
from rakuten_mlops.auth.settings_store import secret_text
from rakuten_mlops.auth.users import ensure_first_admin
from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.db.engine import make_engine
from rakuten_mlops.db.migrate import ensure_schema
from rakuten_mlops.errors import MlopsError
from rakuten_mlops.registry import Registry
from rakuten_mlops.serving.assistant_routes import assistant_router
from rakuten_mlops.serving.datasets_routes import datasets_router
from rakuten_mlops.serving.drift_gauges import DriftGauges
from rakuten_mlops.serving.holder import ModelHolder, ModelSource, RegistrySource
from rakuten_mlops.serving.inference_log import InferenceLog, LogUnavailableError
from rakuten_mlops.serving.local_copy import LocalCopy
from rakuten_mlops.serving.metrics import ApiMetrics, multiprocess_mode, route_label
from rakuten_mlops.serving.middleware import BodyLimitMiddleware, MetricsMiddleware
from rakuten_mlops.serving.models_routes import models_router
from rakuten_mlops.serving.monitoring_routes import monitoring_router
from rakuten_mlops.serving.routes import router
from rakuten_mlops.serving.runs_routes import runs_router
from rakuten_mlops.serving.schemas import MAX_BODY_BYTES
from rakuten_mlops.serving.service import PredictionService

log = logging.getLogger(__name__)

DESCRIPTION = """Classifies Rakuten France product listings (`designation` + `description`) into one
of the product-type codes (`prdtypecode`), with the champion model of the MLflow registry.

Routes that change something need credentials: `Authorization: Bearer TOKEN` (a personal token,
`rakuten-mlops users token NAME`) or the service key `X-API-Key` (the server's `API_KEY`). Reload,
feedback and acknowledging alerts need the operator role; reading and predicting need none."""

# Young-generation collections run when this many container objects were allocated and not yet
# freed. A 1,000-item batch allocates tens of thousands of short-lived ones, which reference
# counting frees anyway: the default (700) ran 16 collections per batch, about 1.5 ms of it.
GC_THRESHOLD = 20_000

STATUS_REASONS = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    413: "body_too_large",
    429: "rate_limited",
    503: "unavailable",
}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{location}: {error.get('msg', 'invalid value')}")
    return "; ".join(parts)


DOCS_ASSETS = "/docs-assets"
FAVICON = Path(str(importlib.resources.files("fastapi_offline") / "static" / "favicon.png"))
# How long startup waits for the registry before serving without a model (it goes on in the background).
STARTUP_REGISTRY_WAIT_S = 5.0


def _engine_options(settings: Settings) -> dict[str, Any]:
    if settings.db_url.startswith("postgresql"):
        # Bounded waits: a new connection gives up after 3 s, a dead peer is noticed by keepalives,
        # and a statement that waits on locks gives up before the writer's own deadline.
        timeout_ms = int(settings.inference_log_write_timeout * 1000 * 0.8)
        return {
            "connect_args": {
                "connect_timeout": 3,
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 3,
                "options": f"-c statement_timeout={timeout_ms}",
            }
        }
    return {}


async def _first_model(holder: ModelHolder, registry: RegistrySource | None) -> asyncio.Task[None]:
    """Serve the local copy at once when there is one, and start loading the registry's champion.

    Without a copy, startup waits a few seconds for the registry so that a healthy stack is ready
    when it says so; past that, or with a copy, the registry is reached in the background.
    """
    copied = None if registry is None else await asyncio.to_thread(registry.load_copy)
    if copied is not None:
        holder.serve(copied)
    first = asyncio.create_task(holder.try_refresh())
    if copied is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(first), STARTUP_REGISTRY_WAIT_S)
    return first


def create_app(
    settings: Settings | None = None,
    *,
    source: ModelSource | None = None,
    poll_seconds: float | None = None,
) -> FastAPI:
    """Build the API; `source` replaces the MLflow registry (tests), `poll_seconds` the settings' interval."""
    settings = settings or get_settings()
    interval = settings.model_poll_seconds if poll_seconds is None else poll_seconds
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.prepare()
        engine = make_engine(settings.db_url, **_engine_options(settings))
        try:
            await asyncio.to_thread(ensure_schema, engine)
            first_admin = await asyncio.to_thread(
                ensure_first_admin, engine, secret_text(settings.admin_password)
            )
            if first_admin is not None:
                log.info("created the first admin, user %r, from ADMIN_PASSWORD", first_admin.name)
        except MlopsError as exc:  # serve anyway: the inference log spools until the database is back
            log.warning("database not ready at startup, predictions will be spooled: %s", exc)
        inference_log = None
        if settings.inference_log:
            inference_log = InferenceLog(
                settings.db_url,
                settings.spool_dir,
                engine_options=_engine_options(settings),
                write_timeout_s=settings.inference_log_write_timeout,
                on_status=metrics.set_log_status,
            ).start()

        def swapped(version: str | None, previous: str | None) -> None:
            metrics.set_model(version, previous)
            # Park everything alive (modules, the model) outside the collector's generations: full
            # collections then scan only request garbage, which cut p99 latency spikes of 100+ ms.
            gc.freeze()

        thresholds = gc.get_threshold()
        gc.set_threshold(max(GC_THRESHOLD, thresholds[0]), *thresholds[1:])
        registry = None
        if source is None:
            registry = RegistrySource(
                Registry.from_uri(settings.tracking_uri, settings.model_name, check=False),
                LocalCopy(settings.mlops_home / "champion"),
            )
        holder = ModelHolder(source if source is not None else registry, on_swap=swapped)  # type: ignore[arg-type]
        service = PredictionService(metrics, inference_log, engine)
        app.state.settings, app.state.metrics, app.state.holder = settings, metrics, holder
        app.state.drift_gauges = DriftGauges(engine, metrics, settings.drift_gauge_seconds)
        app.state.service, app.state.inference_log = service, inference_log
        metrics.set_model(None, None)
        first = await _first_model(holder, registry)
        with contextlib.suppress(Exception):  # the database may be down; the gauge waits for feedback
            await asyncio.to_thread(service.live_accuracy)
        poller = asyncio.create_task(holder.poll(interval)) if interval > 0 else None
        try:
            yield
        finally:
            for task in (first, poller):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if inference_log is not None:
                await asyncio.to_thread(inference_log.stop)
            engine.dispose()
            gc.set_threshold(*thresholds)
            if multiprocess_mode():
                multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # drop this worker's live gauges

    # FastAPIOffline serves Swagger UI's and ReDoc's files from the installed package instead of a CDN,
    # so /docs and /redoc work on a machine without internet.
    app = FastAPIOffline(
        title="Rakuten product classification API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
    )

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(FAVICON, media_type="image/png")

    app.state.settings, app.state.metrics = settings, metrics
    app.state.auth_failures = FailureLimiter(settings.auth_max_failures, settings.auth_failure_window_seconds)
    app.include_router(router)
    app.include_router(monitoring_router)
    app.include_router(datasets_router)
    app.include_router(models_router)
    # Uploads of datasets may be larger than any prediction request (DATASET_MAX_MB, plus the multipart framing).
    upload_limit = {"/datasets": settings.dataset_max_bytes + 1024 * 1024}
    app.include_router(runs_router)
    app.include_router(assistant_router)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=MAX_BODY_BYTES,
        metrics=metrics,
        timeout=settings.api_body_timeout,
        path_limits=upload_limit,
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.errors.labels(reason="validation", route=route_label(request.scope)).inc()
        errors = [{k: v for k, v in e.items() if k in {"loc", "msg", "type"}} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors, "message": _validation_message(exc)})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        reason = STATUS_REASONS.get(exc.status_code, str(exc.status_code))
        metrics.errors.labels(reason=reason, route=route_label(request.scope)).inc()
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers)

    @app.exception_handler(LogUnavailableError)
    async def log_unavailable(request: Request, exc: LogUnavailableError) -> JSONResponse:
        metrics.errors.labels(reason="log_unavailable", route=route_label(request.scope)).inc()
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        metrics.errors.labels(reason="internal", route=route_label(request.scope)).inc()
        log.exception("unexpected error while answering a request")
        return JSONResponse(status_code=500, content={"detail": f"internal error: {exc.__class__.__name__}"})

    return app
