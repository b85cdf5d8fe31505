"""Routes of the AutoML table models: `GET /models`, `GET /models/{name}`, `POST /models/{name}/predict`.

Each registered AutoML task is served by its champion (`rakuten_mlops.automl.served`); `/predict`
stays the listing classifier's. Records are checked against the model's columns: a missing or
unknown one is a 422 whose `field` names it. Every answered record is made durable in the inference
log first (the `table_predictions` table, with the model's name), like a listing's prediction.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from rakuten_mlops.automl.served import RecordError, TableModel, TableModels, UnknownModelError
from rakuten_mlops.errors import MlopsError, RegistryError
from rakuten_mlops.serving.outbox import LoggedTableRequest
from rakuten_mlops.serving.service import new_request_ids

models_router = APIRouter(tags=["table models"])
NamePath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$", description="A table model's name.")
]
MAX_RECORDS = 1_000
ERRORS: dict[int | str, dict[str, str]] = {
    404: {"description": "no table model of that name, or no champion yet"},
    422: {"description": "a record the model cannot read (`field` names the column)"},
    503: {"description": "the MLflow registry does not answer"},
}


class TableModelInfo(BaseModel):
    """A table model's champion: what it predicts from which columns."""

    name: str
    version: str
    target: str
    problem_type: str
    metric: str
    columns: list[str]
    classes: list[str]


class TableModelList(BaseModel):
    """Every AutoML model with a champion; `unavailable` names those whose champion could not be read."""

    models: list[TableModelInfo]
    unavailable: dict[str, str] = Field(default_factory=dict)


class RecordsRequest(BaseModel):
    """Rows to score, as objects of column values."""

    records: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_RECORDS)


class TablePrediction(BaseModel):
    """One record's answer; a classifier adds its confidence and every class's probability."""

    prediction: Any
    confidence: float | None = None
    probabilities: dict[str, float] | None = None
    request_id: str


class TablePredictions(BaseModel):
    """The answers, in the order of the records."""

    model: str
    version: str
    predictions: list[TablePrediction]


def table_models(request: Request) -> TableModels:
    """The app's table models (one cache per app)."""
    found: TableModels | None = getattr(request.app.state, "table_models", None)
    if found is None:
        found = request.app.state.table_models = TableModels(request.app.state.settings.tracking_uri)
    return found


def _error(exc: MlopsError) -> JSONResponse:
    if isinstance(exc, RecordError):
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=422)
    if isinstance(exc, UnknownModelError):
        return JSONResponse({"detail": str(exc)}, status_code=404)
    if isinstance(exc, RegistryError):
        return JSONResponse({"detail": str(exc)}, status_code=503)
    return JSONResponse({"detail": str(exc)}, status_code=422)


@models_router.get("/models", response_model=TableModelList, responses={503: ERRORS[503]})
def list_table_models(request: Request) -> Any:
    """Every AutoML task's champion (the listing classifier is `GET /model`)."""
    models = table_models(request)
    try:
        names = models.names()
    except RegistryError as exc:
        return _error(exc)
    found, unavailable = [], {}
    for name in names:
        try:
            found.append(TableModelInfo(**models.champion(name).describe()))
        except MlopsError as exc:
            unavailable[name] = str(exc)
    return TableModelList(models=found, unavailable=unavailable)


@models_router.get("/models/{name}", response_model=TableModelInfo, responses=ERRORS)
def show_table_model(request: Request, name: NamePath) -> Any:
    """One table model's champion: version, target, columns, classes."""
    try:
        return TableModelInfo(**table_models(request).champion(name).describe())
    except MlopsError as exc:
        return _error(exc)


def _score(
    request: Request, name: str, records: list[dict[str, Any]]
) -> tuple[TableModel, list[dict[str, Any]]]:
    model = table_models(request).champion(name)
    return model, model.predict(model.frame(records))


@models_router.post(
    "/models/{name}/predict",
    response_model=TablePredictions,
    responses={**ERRORS, 503: {"description": "the registry or the inference log is unavailable"}},
)
async def predict_table(request: Request, name: NamePath, body: RecordsRequest) -> Any:
    """Score up to 1,000 records with the champion of `name`; answers keep the records' order."""
    started = time.perf_counter()
    metrics = request.app.state.metrics
    try:
        model, answers = await to_thread.run_sync(_score, request, name, body.records)
    except MlopsError as exc:
        return _error(exc)
    elapsed = time.perf_counter() - started
    request_ids = new_request_ids(len(answers))
    inference_log = getattr(request.app.state, "inference_log", None)
    if inference_log is not None:  # nothing is answered that is not durable (503 otherwise)
        await inference_log.record(
            LoggedTableRequest(
                datetime.now(UTC), model.name, model.version, elapsed * 1000.0, request_ids,
                [json.dumps(record, default=str) for record in body.records],
                [str(answer["prediction"]) for answer in answers],
                [answer.get("confidence") for answer in answers],
            )
        )  # fmt: skip
    for answer, request_id in zip(answers, request_ids, strict=True):
        answer["request_id"] = request_id
    metrics.table_predictions.labels(model=model.name, model_version=model.version).inc(len(answers))
    metrics.table_latency.labels(model=model.name).observe(elapsed)
    return TablePredictions(model=model.name, version=model.version, predictions=answers)  # type: ignore[arg-type]
