"""Request and response bodies of the prediction API, with the limits a client must respect."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, StringConstraints

MAX_DESIGNATION_CHARS = 1_000
MAX_DESCRIPTION_CHARS = 20_000
MAX_BATCH_ITEMS = 1_000
MAX_BODY_BYTES = 8 * 1024 * 1024  # a full batch of long listings fits; anything bigger is refused (413)
MAX_TOP_K = 27

Code = int | str  # Rakuten codes are integers; another taxonomy's labels stay strings


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Text a client sends that is stored or looked up as it is (ids, codes, kinds): no NUL, which
# PostgreSQL refuses, and no blank.
CleanText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_no_nul)]
CodeIn = Annotated[int, Field(ge=0, le=10**12)] | Annotated[CleanText, StringConstraints(max_length=64)]

EXAMPLE_LISTING: dict[str, JsonValue] = {"designation": "iPhone 13", "description": "Smartphone"}


class Listing(BaseModel):
    """One product listing to classify."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_LISTING]})

    designation: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_DESIGNATION_CHARS),
        Field(description="Product title (required)."),
    ]
    description: Annotated[
        str | None,
        StringConstraints(max_length=MAX_DESCRIPTION_CHARS),
        Field(description="Product description, may be empty or null."),
    ] = None


class BatchRequest(BaseModel):
    """Up to MAX_BATCH_ITEMS listings scored in one vectorised call."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"items": [EXAMPLE_LISTING, {"designation": "Lego"}]}]},
    )

    items: Annotated[list[Listing], Field(min_length=1, max_length=MAX_BATCH_ITEMS)]


class ClassScore(BaseModel):
    """One candidate class and its probability."""

    prdtypecode: Code
    label: str | None
    probability: float


class Prediction(BaseModel):
    """The predicted product type of one listing."""

    prdtypecode: Code
    label: str | None = Field(description="Category name when the code is a known Rakuten code.")
    confidence: float
    top_k: list[ClassScore]
    model_version: str
    request_id: str


class BatchPrediction(BaseModel):
    """Predictions in the order of the request's items."""

    predictions: list[Prediction]


class Contribution(BaseModel):
    """A feature that pushed the listing towards its predicted class."""

    feature: str
    field: str
    term: str
    weight: float


class Explanation(Prediction):
    """A prediction with the tokens that contributed most to it."""

    contributions: list[Contribution]


class Feedback(BaseModel):
    """The true product type of a listing the API classified."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"request_id": "0b6f2c7e9d7c4c4f8f8f0e2a9d1b3c5e", "prdtypecode": 1280}]
        },
    )

    request_id: Annotated[CleanText, StringConstraints(max_length=64)]
    prdtypecode: Annotated[CodeIn, Field(description="The true code.")]


class FeedbackResult(BaseModel):
    """Whether the prediction was right, and the rolling live accuracy after this feedback."""

    request_id: str
    predicted: Code
    correct: bool
    live_accuracy: float | None
    replaced: Code | None = Field(default=None, description="The true code given earlier, now replaced.")


class ModelInfo(BaseModel):
    """The model in service."""

    name: str
    version: str
    alias: str
    run_id: str | None
    trainer: str
    classes: int
    metrics: dict[str, float]
    loaded_at: datetime


class ReloadResult(BaseModel):
    """The outcome of POST /model/reload."""

    changed: bool
    version: str | None
    previous_version: str | None


class InferenceLogHealth(BaseModel):
    """Where the inference log stands: `ok`, or what keeps rows from reaching the database."""

    state: str = Field(description="ok, starting, stalled, database_down, outbox_unwritable or writer_down.")
    backlog: int = Field(description="Answered predictions not yet in the database (durable in the outbox).")
    oldest_pending_at: datetime | None = Field(description="When the oldest of them was answered.")
    writer_pid: int | None
    error: str | None = None


class Health(BaseModel):
    """Liveness and readiness details; `status` is `degraded` while the inference log is not ok."""

    status: str
    model_loaded: bool
    model_version: str | None
    model_source: str | None = Field(
        default=None, description="registry, or local copy while MLflow is down."
    )
    inference_log_pending: int
    inference_log: InferenceLogHealth | None = None
