"""Who may call what: the role matrix on every route that changes something, tokens, lockout, audit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from tests.api.conftest import ADMIN_KEY

from rakuten_mlops.auth.audit import list_entries
from rakuten_mlops.auth.roles import Role
from rakuten_mlops.auth.tokens import issue_token, revoke_token
from rakuten_mlops.auth.users import create_user
from rakuten_mlops.config import Settings
from rakuten_mlops.db import make_engine
from rakuten_mlops.monitoring.alerts import raise_alert
from rakuten_mlops.serving.app import create_app

# Every route that is not a read: the least role it needs. A new mutating route must be added here.
READ_ONLY_POSTS = {"/predict", "/predict/batch", "/explain", "/models/{name}/predict"}
# Open to every signed-in caller; each of its tools checks the caller's role (tests/assistant).
PER_TOOL_POSTS = {"/assistant/chat"}
MATRIX = {
    ("POST", "/model/reload"): Role.OPERATOR,
    ("POST", "/feedback"): Role.OPERATOR,
    ("POST", "/alerts/{alert_id}/acknowledge"): Role.OPERATOR,
    ("POST", "/datasets"): Role.OPERATOR,
    ("POST", "/runs"): Role.OPERATOR,
    ("POST", "/runs/{run_id}/cancel"): Role.OPERATOR,
    ("POST", "/runs/{run_id}/retry"): Role.OPERATOR,
    ("POST", "/events"): Role.OPERATOR,
}
# These need a Prefect server, which this app has none of: a caller the role lets through gets 503
# (the role is checked first: a caller it refuses never learns whether the server is there).
NEEDS_PREFECT = {"/runs", "/runs/{run_id}/cancel", "/runs/{run_id}/retry", "/events"}


@dataclass
class Callers:
    tokens: dict[Role, str]
    revoked: str
    alert_id: int
    request_id: str


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def callers(client: TestClient, api_settings: Settings) -> Iterator[Callers]:
    engine = make_engine(api_settings.db_url)
    tokens = {}
    for role in Role:
        create_user(engine, f"user-{role}", role, None)
        tokens[role] = issue_token(engine, f"user-{role}").token
    revoked = issue_token(engine, "user-admin")
    revoke_token(engine, revoked.prefix)
    alert = raise_alert(engine, "drift", "warning", "drift on v1", {"model_version": "1"})
    request_id = client.post("/predict", json={"designation": "Jeu PS4 Fifa 22"}).json()["request_id"]
    yield Callers(tokens, revoked.token, alert.id, request_id)
    engine.dispose()


def call(client: TestClient, method: str, path: str, c: Callers, headers: dict[str, str]) -> int:
    url = path.replace("{alert_id}", str(c.alert_id)).replace("{run_id}", "0" * 8)
    if path == "/datasets":
        table = b"age,churn\n31,no\n45,yes\n52,no\n"
        files = {"file": ("churn.csv", table, "text/csv")}
        return client.request(method, url, files=files, headers=headers).status_code
    bodies = {
        "/feedback": {"request_id": c.request_id, "prdtypecode": 10},
        "/runs": {"deployment": "training-pipeline/on-demand"},
        "/events": {"event": "dataset.uploaded"},
    }
    body = bodies.get(path)
    return client.request(method, url, json=body, headers=headers).status_code


def test_every_route_that_changes_something_is_in_the_role_matrix(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    mutating = {
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method not in {"get", "head"} and path not in READ_ONLY_POSTS | PER_TOOL_POSTS
    }
    assert mutating == set(MATRIX), "give each new mutating route its role in MATRIX (and the README)"


@pytest.mark.parametrize(("method", "path"), list(MATRIX))
def test_each_role_gets_what_the_matrix_says_and_bad_tokens_get_401(
    client: TestClient, callers: Callers, method: str, path: str
) -> None:
    least = MATRIX[(method, path)]
    through = {503} if path in NEEDS_PREFECT else set()

    def let_through(status: int) -> bool:
        return status < 300 or status in through

    for role in Role:
        status = call(client, method, path, callers, bearer(callers.tokens[role]))
        assert let_through(status) == role.allows(least), (role, status)
        if not role.allows(least):
            assert status == 403
    forged = callers.tokens[Role.ADMIN][:-3] + "zzz"
    for headers in (
        {},
        bearer(forged),
        bearer(callers.revoked),
        bearer("rkm_x"),
        {"Authorization": "Basic abc"},
    ):
        assert call(client, method, path, callers, headers) == 401, headers
    assert let_through(call(client, method, path, callers, {"X-API-Key": ADMIN_KEY}))  # the service key stays


def test_a_refusal_says_which_role_is_needed(client: TestClient, callers: Callers) -> None:
    response = client.post("/model/reload", headers=bearer(callers.tokens[Role.VIEWER]))
    assert response.status_code == 403
    assert response.json()["detail"] == "this endpoint needs the operator role; user-viewer is viewer"
    missing = client.post("/model/reload")
    assert missing.headers["WWW-Authenticate"] == "Bearer" and "Bearer TOKEN" in missing.json()["detail"]


def test_changes_through_the_api_are_audited_with_the_callers_name(
    client: TestClient, callers: Callers, api_settings: Settings
) -> None:
    client.post("/model/reload", headers=bearer(callers.tokens[Role.OPERATOR]))
    acked = client.post(f"/alerts/{callers.alert_id}/acknowledge", headers=bearer(callers.tokens[Role.ADMIN]))
    assert acked.json()["acknowledged_by"] == "user-admin"  # the token's user, not a name in the body
    entries = list_entries(make_engine(api_settings.db_url))
    assert [(e.user, e.action, e.result) for e in entries] == [
        ("user-admin", "acknowledge", "ok"),
        ("user-operator", "reload", "ok: v1 unchanged"),
    ]
    assert entries[0].arguments == {"alert_id": callers.alert_id, "by": "user-admin"}


def test_repeated_wrong_credentials_lock_the_client_out_even_with_the_right_key(
    api_settings: Settings,
) -> None:
    strict = api_settings.model_copy(update={"auth_max_failures": 3})
    with TestClient(create_app(strict, poll_seconds=0)) as client:
        for _ in range(3):
            assert client.post("/model/reload", headers={"X-API-Key": "guess"}).status_code == 401
        locked = client.post("/model/reload", headers={"X-API-Key": ADMIN_KEY})
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
        assert client.post("/predict", json={"designation": "Tasse"}).status_code == 200  # reads stay open
        metrics = client.get("/metrics").text
    errors: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "rakuten_request_errors_total":
                reason = sample.labels["reason"]
                errors[reason] = errors.get(reason, 0.0) + sample.value
    assert (errors["rate_limited"], errors["unauthorized"]) == (1.0, 3.0)
