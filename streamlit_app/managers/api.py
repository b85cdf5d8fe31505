"""The prediction API as the control room uses it: health, model, predictions, explanations, metrics."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pandas as pd

from managers.base import ServiceStatus, probe_http, unavailable
from rakuten_mlops.auth.roles import Principal, require
from rakuten_mlops.errors import ConfigError, DataError, ModelError
from rakuten_mlops.serving.schemas import (
    MAX_BATCH_ITEMS,
    Explanation,
    FeedbackResult,
    Health,
    ModelInfo,
    Prediction,
    ReloadResult,
)


class ApiManager:
    """Calls the prediction API through an injected client; the control room renders what it returns."""

    def __init__(self, client: httpx.Client, api_key: str | None = None) -> None:
        self._client = client
        self._api_key = api_key

    @property
    def url(self) -> str:
        """The API's base URL."""
        return str(self._client.base_url).rstrip("/")

    def _request(self, method: str, path: str, *, admin: bool = False, **kwargs: Any) -> httpx.Response:
        headers = {"X-API-Key": self._api_key} if admin and self._api_key else {}
        try:
            response = self._client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise unavailable("the prediction API", self.url, exc) from exc
        if response.is_success:
            return response
        message = _message(response)
        if response.status_code == 503:
            raise ModelError(message)
        if response.status_code in (401, 403):
            raise ConfigError(f"the API refused an admin call: {message} (set API_KEY for the control room)")
        raise DataError(f"the API answered {response.status_code}: {message}")

    def status(self) -> ServiceStatus:
        """Whether the API process answers /health."""
        return probe_http(self._client, "API", f"{self.url}/health", ui_url=f"{self.url}/docs")

    def health(self) -> Health:
        """Liveness details: model loaded, its version, the inference-log backlog."""
        return Health.model_validate(self._request("GET", "/health").json())

    def model(self) -> ModelInfo | None:
        """The model in service, or None before the first champion is loaded."""
        try:
            return ModelInfo.model_validate(self._request("GET", "/model").json())
        except ModelError:
            return None

    def predict(self, designation: str, description: str = "") -> Prediction:
        """Classify one listing."""
        body = {"designation": designation, "description": description or None}
        return Prediction.model_validate(self._request("POST", "/predict", json=body).json())

    def explain(self, designation: str, description: str = "") -> Explanation:
        """Classify one listing and return the tokens that pushed it towards its class."""
        body = {"designation": designation, "description": description or None}
        return Explanation.model_validate(self._request("POST", "/explain", json=body).json())

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score a frame with designation (and optionally description) columns, in batches of the API's limit."""
        if "designation" not in frame.columns:
            raise DataError(
                f"the file needs a 'designation' column; it has {', '.join(map(str, frame.columns))}"
            )
        designations = frame["designation"].fillna("").astype(str)
        if (designations.str.strip() == "").any():
            row = int((designations.str.strip() == "").to_numpy().nonzero()[0][0]) + 1
            raise DataError(f"row {row} has an empty designation; every listing needs a title")
        descriptions = (
            frame["description"].fillna("").astype(str)
            if "description" in frame.columns
            else pd.Series([""] * len(frame))
        )
        items = [
            {"designation": d, "description": t or None}
            for d, t in zip(designations, descriptions, strict=True)
        ]
        answers: list[dict[str, Any]] = []
        for start in range(0, len(items), MAX_BATCH_ITEMS):
            chunk = items[start : start + MAX_BATCH_ITEMS]
            answers.extend(
                self._request("POST", "/predict/batch", json={"items": chunk}).json()["predictions"]
            )
        scored = frame.copy()
        scored["prdtypecode"] = [a["prdtypecode"] for a in answers]
        scored["label"] = [a["label"] for a in answers]
        scored["confidence"] = [round(float(a["confidence"]), 4) for a in answers]
        scored["model_version"] = [a["model_version"] for a in answers]
        return scored

    def reload_model(self, *, actor: Principal) -> ReloadResult:
        """Ask the API to load the registry's champion now (operator; the API checks its key too)."""
        require(actor, "reload")
        return ReloadResult.model_validate(self._request("POST", "/model/reload", admin=True).json())

    def feedback(self, request_id: str, prdtypecode: int, *, actor: Principal) -> FeedbackResult:
        """Give the true code of a prediction the API made (operator): it counts in the live accuracy."""
        require(actor, "feedback")
        body = {"request_id": request_id, "prdtypecode": prdtypecode}
        return FeedbackResult.model_validate(self._request("POST", "/feedback", admin=True, json=body).json())

    def metrics_text(self) -> str:
        """The API's Prometheus exposition text."""
        return self._request("GET", "/metrics").text


def read_csv_bytes(data: bytes) -> pd.DataFrame:
    """An uploaded CSV as text cells (nothing parsed as numbers or missing values)."""
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("message") or body.get("detail") or body)
    return str(body)
