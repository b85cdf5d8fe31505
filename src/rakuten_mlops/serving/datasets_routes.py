"""Datasets routes: add a table (multipart, needs a writer), list, show, profile, suggestions, run logs.

Who may add is decided by one dependency, `require_dataset_writer` (the admin key for now), so roles
can replace it in one place.
"""

from __future__ import annotations

import shutil
import tempfile
from enum import StrEnum
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel
from sqlalchemy import Engine

from rakuten_mlops.errors import DatabaseError, DataError, ValidationError
from rakuten_mlops.serving.deps import SettingsDep, require_admin
from rakuten_mlops.tables.models import TableProfile
from rakuten_mlops.tables.records import AddResult, DatasetDetail, DatasetSummary
from rakuten_mlops.tables.store import DatasetNotFoundError, DatasetStore
from rakuten_mlops.tables.workbench import Suggestions, profile_dataset, suggest_for_dataset, version_log

datasets_router = APIRouter(tags=["datasets"])
NamePath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", description="The dataset's name.")
]
VersionQuery = Annotated[
    int | None, Query(ge=1, le=2**31 - 1, description="A version; the newest by default.")
]
TargetQuery = Annotated[str | None, Query(min_length=1, max_length=300, description="The target column.")]
ERRORS: dict[int | str, dict[str, str]] = {
    404: {"description": "no such dataset or version"},
    422: {"description": "unusable input (the message says why)"},
    503: {"description": "database unavailable"},
}


def require_dataset_writer(
    settings: SettingsDep,
    x_api_key: Annotated[str | None, Header(description="The API_KEY the server was started with.")] = None,
) -> None:
    """Who may add datasets: the admin key for now; when roles exist, this one function checks them."""
    require_admin(settings, x_api_key)


class DatasetList(BaseModel):
    """Every dataset with its newest version."""

    datasets: list[DatasetSummary]


class LogFormat(StrEnum):
    """How a run's log is returned."""

    json = "json"
    text = "text"


def dataset_store(request: Request) -> DatasetStore:
    """The datasets store of this API (its database and MLOPS_HOME)."""
    engine: Engine | None = request.app.state.service.engine
    if engine is None:
        raise HTTPException(503, "this API runs without a database; datasets are unavailable")
    return DatasetStore.from_settings(request.app.state.settings, engine)


StoreDep = Annotated[DatasetStore, Depends(dataset_store)]


def _http(exc: Exception) -> HTTPException:
    if isinstance(exc, DatasetNotFoundError):
        return HTTPException(404, str(exc))
    if isinstance(exc, DatabaseError):
        return HTTPException(503, str(exc))
    return HTTPException(422, str(exc))


@datasets_router.post(
    "/datasets",
    response_model=AddResult,
    status_code=201,
    dependencies=[Depends(require_dataset_writer)],
    responses={
        200: {"description": "the same file was already stored"},
        401: {"description": "missing or wrong X-API-Key"},
        403: {"description": "API_KEY unset"},
        413: {"description": "file over DATASET_MAX_MB"},
        **ERRORS,
    },
    tags=["admin"],
)
def add_dataset(
    store: StoreDep,
    response: Response,
    file: Annotated[UploadFile, File(description="CSV/TSV, Excel (.xlsx), JSON records or Parquet.")],
    name: Annotated[
        str | None, Form(max_length=100, description="Dataset name; the file's name by default.")
    ] = None,
) -> AddResult:
    """Add a file as a new version of a dataset; the same bytes again answer 200 with the existing version."""
    filename = FilePath(file.filename or "upload").name or "upload"
    with tempfile.TemporaryDirectory(prefix="dataset-upload-") as folder:
        kept = FilePath(folder) / "upload"
        with kept.open("wb") as out:
            shutil.copyfileobj(file.file, out, length=1024 * 1024)
        try:
            result = store.add(kept, name or None, filename=filename)
        except ValidationError as exc:
            raise HTTPException(413 if "DATASET_MAX_MB" in str(exc) else 422, str(exc)) from exc
        except (DataError, DatabaseError) as exc:
            raise _http(exc) from exc
    if not result.created:
        response.status_code = 200
    return result


@datasets_router.get("/datasets", response_model=DatasetList, responses={503: ERRORS[503]})
def list_datasets(store: StoreDep) -> DatasetList:
    """Every dataset with its newest version, most recently updated first."""
    try:
        return DatasetList(datasets=store.list())
    except DatabaseError as exc:
        raise _http(exc) from exc


@datasets_router.get("/datasets/{name}", response_model=DatasetDetail, responses=ERRORS)
def show_dataset(store: StoreDep, name: NamePath, version: VersionQuery = None) -> DatasetDetail:
    """One version (the newest by default) with its schema, lineage and the dataset's history."""
    try:
        return store.show(name, version)
    except (DataError, DatabaseError) as exc:
        raise _http(exc) from exc


@datasets_router.get("/datasets/{name}/profile", response_model=TableProfile, responses=ERRORS)
def dataset_profile(
    store: StoreDep, name: NamePath, target: TargetQuery = None, version: VersionQuery = None
) -> TableProfile:
    """Per column type, missing, unique, top values, quantiles, histogram; the target; the warnings."""
    try:
        return profile_dataset(store, name, target, version)
    except (DataError, DatabaseError) as exc:
        raise _http(exc) from exc


@datasets_router.get("/datasets/{name}/suggestions", response_model=Suggestions, responses=ERRORS)
def dataset_suggestions(
    store: StoreDep,
    name: NamePath,
    target: Annotated[str, Query(min_length=1, max_length=300)],
    version: VersionQuery = None,
) -> Suggestions:
    """Preprocessing steps in order, each with its confidence, rationale and preview."""
    try:
        return suggest_for_dataset(store, name, target, version)
    except (DataError, DatabaseError) as exc:
        raise _http(exc) from exc


@datasets_router.get("/datasets/{name}/logs", response_class=PlainTextResponse, responses=ERRORS)
def dataset_logs(
    store: StoreDep, name: NamePath, version: VersionQuery = None, format: LogFormat = LogFormat.json
) -> PlainTextResponse:
    """The log of the run that produced a preprocessed version: JSON lines or text."""
    from rakuten_mlops.tables.runlog import as_json_lines, as_text

    try:
        lines = version_log(store, name, version)
    except (DataError, DatabaseError) as exc:
        raise _http(exc) from exc
    if format is LogFormat.json:
        return PlainTextResponse(as_json_lines(lines), media_type="application/x-ndjson")
    return PlainTextResponse(as_text(lines))
