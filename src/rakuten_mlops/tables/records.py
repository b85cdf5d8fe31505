"""What the datasets store answers: added versions, the list of datasets, one dataset with its lineage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SchemaColumn(BaseModel):
    """A stored column: its name and its storage type."""

    name: str
    dtype: str


class Lineage(BaseModel):
    """Where a preprocessed version comes from: its parent, the steps and parameters, the run."""

    parent_version: int
    steps: list[dict[str, Any]]
    parameters: dict[str, Any]
    run_id: str | None
    pipeline: str | None  # path of the fitted scikit-learn pipeline
    log: str | None  # path of the run's JSON-lines log


class VersionSummary(BaseModel):
    """One version in a dataset's history."""

    version: int
    hash: str
    rows: int
    columns: int
    source: str
    created_at: datetime
    parent_version: int | None = None


class AddResult(BaseModel):
    """The version an upload became (or already was: `created` false)."""

    name: str
    version: int
    rows: int
    columns: int
    hash: str
    created: bool
    source: str
    format: str
    options: dict[str, str] = Field(default_factory=dict)


class DatasetSummary(BaseModel):
    """A dataset in the list: its newest version's figures."""

    name: str
    latest_version: int
    versions: int
    rows: int
    columns: int
    hash: str
    source: str
    created_at: datetime
    updated_at: datetime


class DatasetDetail(BaseModel):
    """One version of a dataset with its schema, lineage and the dataset's history."""

    name: str
    version: int
    hash: str
    rows: int
    columns: int
    source: str
    format: str
    size_bytes: int
    created_at: datetime
    read_options: dict[str, str]
    schema_: list[SchemaColumn] = Field(alias="schema", serialization_alias="schema")
    lineage: Lineage | None
    versions: list[VersionSummary]

    # `schema` is a BaseModel method: the field is `schema_` in Python and `schema` in JSON.
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class PreprocessResult(BaseModel):
    """What the `preprocess` flow made: the new version of the dataset and its run."""

    name: str
    version: int
    parent_version: int
    run_id: str | None
    rows: int
    columns: int
    steps: list[str]
    class_weights: dict[str, float] | None = None
    pipeline: str
    log: str
