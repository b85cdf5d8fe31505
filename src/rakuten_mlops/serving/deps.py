"""Dependencies of the routes; tests replace them with `app.dependency_overrides`."""

from __future__ import annotations

import hmac
import logging
import math
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy import Engine

from rakuten_mlops.auth.limiter import FailureLimiter
from rakuten_mlops.auth.roles import Principal, Role
from rakuten_mlops.auth.tokens import authenticate_token
from rakuten_mlops.config import Settings
from rakuten_mlops.errors import AuthenticationError, DatabaseError
from rakuten_mlops.serving.holder import LoadedModel, ModelHolder
from rakuten_mlops.serving.service import PredictionService

log = logging.getLogger(__name__)
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


def get_engine(request: Request) -> Engine | None:
    """The API's database engine (None before the lifespan built it)."""
    service: PredictionService | None = getattr(request.app.state, "service", None)
    return None if service is None else service.engine


def get_failures(request: Request) -> FailureLimiter:
    """Wrong credentials counted per client address."""
    limiter: FailureLimiter = request.app.state.auth_failures
    return limiter


MISSING_CREDENTIALS = (
    "this endpoint needs credentials: an Authorization: Bearer TOKEN header "
    "(a personal token from `rakuten-mlops users token NAME`) or the service's X-API-Key header"
)
SERVICE_KEY_DISABLED = "the X-API-Key service key is disabled: start the API with API_KEY set to enable it"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _bearer(engine: Engine | None, authorization: str) -> Principal:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "the Authorization header must read: Bearer TOKEN", headers=_CHALLENGE)
    if engine is None:
        raise HTTPException(503, "tokens cannot be checked: this API runs without a database")
    try:
        return authenticate_token(engine, token)
    except AuthenticationError as exc:
        raise HTTPException(401, str(exc), headers=_CHALLENGE) from None
    except DatabaseError as exc:
        log.error("checking a bearer token: %s", exc)
        raise HTTPException(503, "tokens cannot be checked now: the user database is unavailable") from None


def _service_key(settings: Settings, x_api_key: str) -> Principal:
    if not settings.api_key:
        raise HTTPException(403, SERVICE_KEY_DISABLED)
    if not hmac.compare_digest(x_api_key.encode("utf-8"), settings.api_key.encode("utf-8")):
        raise HTTPException(401, "the X-API-Key header does not match API_KEY", headers=_CHALLENGE)
    return SERVICE


def authenticate(
    request: Request,
    settings: Annotated[Settings, Depends(get_settings)],
    engine: Annotated[Engine | None, Depends(get_engine)],
    failures: Annotated[FailureLimiter, Depends(get_failures)],
    authorization: Annotated[
        str | None, Header(description="Bearer TOKEN: a personal token (rakuten-mlops users token NAME).")
    ] = None,
    x_api_key: Annotated[
        str | None, Header(description="The service key: the API_KEY the server was started with.")
    ] = None,
) -> Principal:
    """Who is calling: a bearer token's user, or the service key; 401 otherwise, 429 after repeated failures."""
    client = request.client.host if request.client else "unknown"
    wait = failures.retry_after(client)
    if wait is not None:
        raise HTTPException(
            429,
            f"too many wrong credentials from this client; retry in {math.ceil(wait)} s",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    try:
        if authorization is not None:
            return _bearer(engine, authorization)
        if x_api_key is not None:
            return _service_key(settings, x_api_key)
        raise HTTPException(401, MISSING_CREDENTIALS, headers=_CHALLENGE)
    except HTTPException as exc:
        if exc.status_code == 401:
            failures.failed(client)
            # The reason only: a credential, right or wrong, is never written to a log.
            log.warning("refused credentials from %s on %s: %s", client, request.url.path, exc.detail)
        raise


def _requiring(role: Role) -> Callable[[Principal], Principal]:
    def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.role.allows(role):
            raise HTTPException(
                403, f"this endpoint needs the {role} role; {principal.name} is {principal.role}"
            )
        return principal

    dependency.__doc__ = f"Admit callers whose role includes {role}."
    return dependency


# One dependency per role: a route names the least role it needs (see roles.ACTIONS and the README).
require_viewer = _requiring(Role.VIEWER)
require_operator = _requiring(Role.OPERATOR)
require_admin = _requiring(Role.ADMIN)
# The service key is the automation's admin.
SERVICE = Principal("service", Role.ADMIN, via="service_key")
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, wrong or revoked credentials (Bearer token or X-API-Key)"},
    403: {"description": "the caller's role may not do this, or the service key is disabled"},
    429: {"description": "too many wrong credentials from this client; see Retry-After"},
}


SettingsDep = Annotated[Settings, Depends(get_settings)]
HolderDep = Annotated[ModelHolder, Depends(get_holder)]
ModelDep = Annotated[LoadedModel, Depends(get_model)]
ServiceDep = Annotated[PredictionService, Depends(get_service)]
ViewerDep = Depends(require_viewer)
OperatorDep = Depends(require_operator)
AdminDep = Depends(require_admin)
ViewerUser = Annotated[Principal, Depends(require_viewer)]
OperatorUser = Annotated[Principal, Depends(require_operator)]
AdminUser = Annotated[Principal, Depends(require_admin)]
