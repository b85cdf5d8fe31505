"""`create_app()`: the prediction API, wired from settings (or from injected parts in tests)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import multiprocess
from starlette.exceptions import HTTPException as StarletteHTTPException

from rakuten_mlops import __version__
from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.db.engine import make_engine
from rakuten_mlops.db.migrate import ensure_schema
from rakuten_mlops.errors import MlopsError
from rakuten_mlops.registry import Registry
from rakuten_mlops.serving.datasets_routes import datasets_router
from rakuten_mlops.serving.drift_gauges import DriftGauges
from rakuten_mlops.serving.holder import ModelHolder, ModelSource, RegistrySource
from rakuten_mlops.serving.log_process import InferenceLogProcess
from rakuten_mlops.serving.metrics import ApiMetrics, multiprocess_mode
from rakuten_mlops.serving.middleware import BodyLimitMiddleware, MetricsMiddleware
from rakuten_mlops.serving.monitoring_routes import monitoring_router
from rakuten_mlops.serving.routes import router
from rakuten_mlops.serving.schemas import MAX_BODY_BYTES
from rakuten_mlops.serving.service import PredictionService

log = logging.getLogger(__name__)

DESCRIPTION = """Classifies Rakuten France product listings (`designation` + `description`) into one
of the product-type codes (`prdtypecode`), with the champion model of the MLflow registry.

Admin routes need the `X-API-Key` header (the server's `API_KEY`)."""

# Young-generation collections run when this many container objects were allocated and not yet
# freed. A 1,000-item batch allocates tens of thousands of short-lived ones, which reference
# counting frees anyway: the default (700) ran 16 collections per batch, about 1.5 ms of it.
GC_THRESHOLD = 20_000

STATUS_REASONS = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    413: "body_too_large",
    503: "unavailable",
}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{location}: {error.get('msg', 'invalid value')}")
    return "; ".join(parts)


def _engine_options(settings: Settings) -> dict[str, Any]:
    if settings.db_url.startswith("postgresql"):
        return {"connect_args": {"connect_timeout": 3}}  # an outage must not stall the log writer long
    return {}


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
        except MlopsError as exc:  # serve anyway: the inference log spools until the database is back
            log.warning("database not ready at startup, predictions will be spooled: %s", exc)
        inference_log = None
        if settings.inference_log:
            inference_log = await asyncio.to_thread(
                InferenceLogProcess(
                    settings.db_url,
                    settings.spool_dir,
                    engine_options=_engine_options(settings),
                    on_pending=metrics.log_pending.set,
                ).start
            )

        def swapped(version: str | None, previous: str | None) -> None:
            metrics.set_model(version, previous)
            # Park everything alive (modules, the model) outside the collector's generations: full
            # collections then scan only request garbage, which cut p99 latency spikes of 100+ ms.
            gc.freeze()

        thresholds = gc.get_threshold()
        gc.set_threshold(max(GC_THRESHOLD, thresholds[0]), *thresholds[1:])
        holder = ModelHolder(
            source or RegistrySource(Registry.from_uri(settings.tracking_uri, settings.model_name)),
            on_swap=swapped,
        )
        service = PredictionService(metrics, inference_log, engine)
        app.state.settings, app.state.metrics, app.state.holder = settings, metrics, holder
        app.state.drift_gauges = DriftGauges(engine, metrics, settings.drift_gauge_seconds)
        app.state.service, app.state.inference_log = service, inference_log
        metrics.set_model(None, None)
        await holder.try_refresh()
        with contextlib.suppress(Exception):  # the database may be down; the gauge waits for feedback
            await asyncio.to_thread(service.live_accuracy)
        poller = asyncio.create_task(holder.poll(interval)) if interval > 0 else None
        try:
            yield
        finally:
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
            if inference_log is not None:
                await asyncio.to_thread(inference_log.stop)
            engine.dispose()
            gc.set_threshold(*thresholds)
            if multiprocess_mode():
                multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # drop this worker's live gauges

    app = FastAPI(
        title="Rakuten product classification API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings, app.state.metrics = settings, metrics
    app.include_router(router)
    app.include_router(monitoring_router)
    app.include_router(datasets_router)
    # Uploads of datasets may be larger than any prediction request (DATASET_MAX_MB, plus the multipart framing).
    upload_limit = {"/datasets": settings.dataset_max_bytes + 1024 * 1024}
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES, metrics=metrics, path_limits=upload_limit
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.errors.labels(reason="validation").inc()
        errors = [{k: v for k, v in e.items() if k in {"loc", "msg", "type"}} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors, "message": _validation_message(exc)})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        metrics.errors.labels(reason=STATUS_REASONS.get(exc.status_code, str(exc.status_code))).inc()
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        metrics.errors.labels(reason="internal").inc()
        log.exception("unexpected error while answering a request")
        return JSONResponse(status_code=500, content={"detail": f"internal error: {exc.__class__.__name__}"})

    return app
