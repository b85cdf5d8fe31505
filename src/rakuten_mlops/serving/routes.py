"""The API's routes: thin handlers over the service, the holder and the metrics."""

from __future__ import annotations

import logging
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic_core import to_json

from rakuten_mlops.errors import DatabaseError
from rakuten_mlops.registry import CHAMPION
from rakuten_mlops.serving.deps import NO_MODEL, AdminDep, HolderDep, ModelDep, ServiceDep, no_model_reason
from rakuten_mlops.serving.holder import code_value
from rakuten_mlops.serving.inference_log import InferenceLog
from rakuten_mlops.serving.schemas import (
    BatchPrediction,
    BatchRequest,
    Contribution,
    Explanation,
    Feedback,
    FeedbackResult,
    Health,
    InferenceLogHealth,
    Listing,
    ModelInfo,
    Prediction,
    ReloadResult,
)

log = logging.getLogger(__name__)
router = APIRouter()
NO_MODEL_RESPONSE: dict[int | str, dict[str, Any]] = {503: {"description": NO_MODEL}}


@router.get("/health", response_model=Health, tags=["service"])
def health(request: Request, holder: HolderDep) -> Health:
    """Liveness: 200 while the process runs, with what is loaded and where the inference log stands."""
    log: InferenceLog | None = request.app.state.inference_log
    status = log.status if log is not None else None
    return Health(
        status="ok" if status is None or status.state in {"ok", "starting"} else "degraded",
        model_loaded=holder.current is not None,
        model_version=holder.version,
        model_source=holder.source_name,
        inference_log_pending=status.backlog if status is not None else 0,
        inference_log=None
        if status is None
        else InferenceLogHealth(
            state=status.state,
            backlog=status.backlog,
            oldest_pending_at=status.oldest_pending_at,
            writer_pid=status.writer_pid,
            error=status.error,
        ),
    )


@router.get("/ready", response_model=Health, responses=NO_MODEL_RESPONSE, tags=["service"])
def ready(request: Request, holder: HolderDep) -> Health:
    """Readiness: 200 once a champion is loaded, 503 before."""
    if holder.current is None:
        raise HTTPException(503, no_model_reason(holder))
    return health(request, holder)


# The service answers plain dicts shaped like the response models (tests check the shape against
# the schema); they are serialised straight to JSON: validating 1,000 answers again per batch
# cost as much as a fifth of scoring them.


def _json(content: object) -> Response:
    return Response(to_json(content), media_type="application/json")


@router.post("/predict", response_model=Prediction, responses=NO_MODEL_RESPONSE, tags=["predict"])
async def predict(listing: Listing, model: ModelDep, service: ServiceDep) -> Response:
    """Classify one listing: code, category name, confidence and the top candidates."""
    return _json((await service.predict(model, [listing], route="/predict"))[0])


@router.post("/predict/batch", response_model=BatchPrediction, responses=NO_MODEL_RESPONSE, tags=["predict"])
async def predict_batch(batch: BatchRequest, model: ModelDep, service: ServiceDep) -> Response:
    """Classify up to 1,000 listings in one call; answers keep the order of `items`."""
    return _json({"predictions": await service.predict(model, batch.items, route="/predict/batch")})


@router.post("/explain", response_model=Explanation, responses=NO_MODEL_RESPONSE, tags=["predict"])
async def explain(listing: Listing, model: ModelDep, service: ServiceDep) -> Explanation:
    """Classify one listing and list the words that pushed it towards the predicted class."""
    prediction = (await service.predict(model, [listing], route="/explain"))[0]
    found = await to_thread.run_sync(model.explain, listing.designation, listing.description)
    contributions = []
    for name, weight in found:
        field, _, term = name.partition(":")
        contributions.append(
            Contribution(feature=name, field=field, term=term.partition(":")[2], weight=weight)
        )
    return Explanation(**prediction, contributions=contributions)


@router.get("/model", response_model=ModelInfo, responses=NO_MODEL_RESPONSE, tags=["model"])
def model_info(model: ModelDep) -> ModelInfo:
    """The model in service: registry name, version, run and metrics."""
    return ModelInfo(
        name=model.name,
        version=model.version,
        alias=CHAMPION,
        run_id=model.run_id,
        trainer=model.model.trainer,
        classes=len(model.model.classes),
        metrics=model.metrics,
        loaded_at=model.loaded_at,
    )


@router.post(
    "/model/reload",
    response_model=ReloadResult,
    dependencies=[AdminDep],
    responses={401: {"description": "missing or wrong X-API-Key"}, 403: {"description": "API_KEY unset"}},
    tags=["admin"],
)
async def reload_model(holder: HolderDep) -> ReloadResult:
    """Load the registry's current champion now (admin); requests in flight finish on the old model."""
    try:
        changed, previous = await holder.refresh()
    except Exception as exc:  # the registry is an outside service: report, do not crash
        raise HTTPException(503, f"could not load the champion from the registry: {exc}") from exc
    return ReloadResult(changed=changed, version=holder.version, previous_version=previous)


@router.post(
    "/feedback",
    response_model=FeedbackResult,
    dependencies=[AdminDep],
    responses={404: {"description": "unknown request_id"}, 503: {"description": "database unavailable"}},
    tags=["admin"],
)
async def feedback(body: Feedback, service: ServiceDep) -> FeedbackResult:
    """Store the true code of a served prediction (admin); updates the live accuracy metric.

    Feedback given again for the same request replaces the earlier code, and the answer says which.
    """
    true_code = str(body.prdtypecode)
    if service.inference_log is not None:
        await service.inference_log.wait_stored(timeout=5.0)  # the prediction may be in the outbox still
    try:
        found = await to_thread.run_sync(service.record_feedback, body.request_id, true_code)
    except DatabaseError as exc:
        log.error("feedback for %s not stored: %s", body.request_id, exc)
        raise HTTPException(503, "the prediction log database is unavailable; retry later") from exc
    if found is None:
        raise HTTPException(404, f"request_id {body.request_id!r} is not in the prediction log")
    predicted, correct, accuracy, replaced = found
    return FeedbackResult(
        request_id=body.request_id,
        predicted=code_value(predicted),
        correct=correct,
        live_accuracy=accuracy,
        replaced=None if replaced is None else code_value(replaced),
    )


@router.get("/metrics", response_class=PlainTextResponse, tags=["service"])
def metrics(request: Request) -> Response:
    """Prometheus exposition format."""
    from prometheus_client import CONTENT_TYPE_LATEST

    request.app.state.drift_gauges.refresh()
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
