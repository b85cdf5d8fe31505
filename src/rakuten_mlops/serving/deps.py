"""Dependencies of the routes; tests replace them with `app.dependency_overrides`."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from rakuten_mlops.config import Settings
from rakuten_mlops.serving.holder import LoadedModel, ModelHolder
from rakuten_mlops.serving.service import PredictionService

NO_MODEL = "no champion model is loaded yet; train and promote one (rakuten-mlops train), then retry"


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_holder(request: Request) -> ModelHolder:
    """The model holder of this worker."""
    holder: ModelHolder = request.app.state.holder
    return holder


def no_model_reason(holder: ModelHolder) -> str:
    """Why no model is served: none promoted yet, or the registry could not be read (and why)."""
    if holder.last_error:
        return f"no model is loaded: {holder.last_error}"
    return NO_MODEL


def get_model(holder: Annotated[ModelHolder, Depends(get_holder)]) -> LoadedModel:
    """The model in service, read once per request (a swap never changes it mid-request)."""
    current = holder.current
    if current is None:
        raise HTTPException(503, no_model_reason(holder))
    return current


def get_service(request: Request) -> PredictionService:
    """Scoring, logging and feedback."""
    service: PredictionService = request.app.state.service
    return service


def require_admin(
    settings: Annotated[Settings, Depends(get_settings)],
    x_api_key: Annotated[str | None, Header(description="The API_KEY the server was started with.")] = None,
) -> None:
    """Admit the request only with the right X-API-Key (compared in constant time)."""
    if not settings.api_key:
        raise HTTPException(
            403, "admin endpoints are disabled: start the API with API_KEY set to enable them"
        )
    if x_api_key is None:
        raise HTTPException(401, "this endpoint needs the X-API-Key header")
    if not hmac.compare_digest(x_api_key.encode("utf-8"), settings.api_key.encode("utf-8")):
        raise HTTPException(401, "the X-API-Key header does not match API_KEY")


SettingsDep = Annotated[Settings, Depends(get_settings)]
HolderDep = Annotated[ModelHolder, Depends(get_holder)]
ModelDep = Annotated[LoadedModel, Depends(get_model)]
ServiceDep = Annotated[PredictionService, Depends(get_service)]
AdminDep = Depends(require_admin)
