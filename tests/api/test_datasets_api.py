"""The datasets routes on the real app (real SQLite database, empty MLflow registry): add, list, show, profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from rakuten_mlops.config import get_settings
from rakuten_mlops.serving.app import create_app
from rakuten_mlops.tables.samples import write_messy_csv

KEY = "datasets-admin"


@pytest.fixture
def api(mlops_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The API over a fresh home: no model yet, which the datasets routes do not need."""
    monkeypatch.setenv("API_KEY", KEY)
    monkeypatch.setenv("DATASET_MAX_MB", "0.05")
    get_settings.cache_clear()
    with TestClient(create_app(get_settings().prepare(), poll_seconds=0)) as client:
        yield client


@pytest.fixture(scope="module")
def churn_csv(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("api-data") / "churn.csv"
    write_messy_csv(path, 150, seed=4)
    return path.read_bytes()


def upload(
    client: TestClient, filename: str, content: bytes, key: str | None = KEY, **form: str
) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    return client.post(
        "/datasets", files={"file": (filename, content, "text/csv")}, data=form, headers=headers
    )


def test_an_admin_adds_a_table_once_then_everyone_reads_it(api: TestClient, churn_csv: bytes) -> None:
    first = upload(api, "churn.csv", churn_csv)
    assert first.status_code == 201, first.text
    assert {k: first.json()[k] for k in ("name", "version", "rows", "columns", "created")} == {
        "name": "churn", "version": 1, "rows": 153, "columns": 11, "created": True,
    }  # fmt: skip
    again = upload(api, "churn.csv", churn_csv)
    assert (again.status_code, again.json()["version"], again.json()["created"]) == (200, 1, False)
    assert [d["name"] for d in api.get("/datasets").json()["datasets"]] == ["churn"]
    detail = api.get("/datasets/churn").json()
    assert [c["name"] for c in detail["schema"]][:2] == ["customer_id", "age"]
    assert detail["read_options"]["delimiter"] == ";" and detail["lineage"] is None
    profile = api.get("/datasets/churn/profile", params={"target": "churned"}).json()
    assert profile["target"] == profile["target"] | {
        "column": "churned",
        "problem_type": "classification",
        "guessed": False,
    }
    assert {"leakage", "identifier"} <= {w["kind"] for w in profile["warnings"]}
    steps = api.get("/datasets/churn/suggestions", params={"target": "churned"}).json()["steps"]
    assert "drop-customer_id" in [s["id"] for s in steps] and all(0 <= s["confidence"] <= 1 for s in steps)


def test_adding_needs_the_admin_key(api: TestClient, churn_csv: bytes) -> None:
    assert upload(api, "churn.csv", churn_csv, key=None).status_code == 401
    assert upload(api, "churn.csv", churn_csv, key="wrong").status_code == 401
    assert api.get("/datasets").json() == {"datasets": []}


def test_bad_uploads_get_a_4xx_naming_the_problem_and_store_nothing(api: TestClient) -> None:
    ragged = upload(api, "shop.csv", b"a,b\n1,2\n3\n")
    assert ragged.status_code == 422
    assert ragged.json()["detail"].startswith("file shop.csv, row 2: has 1 field where the header has 2")
    too_big = upload(api, "big.csv", b"a,b\n" + b"1,2\n" * 20_000)
    assert too_big.status_code == 413
    assert (
        "file big.csv: is 0.1 MB, over the 0 MB limit" in too_big.json()["detail"]
        and "DATASET_MAX_MB" in too_big.json()["detail"]
    )
    named = upload(api, "ok.csv", b"a\n1\n", name="../../etc")
    assert named.status_code == 422 and "cannot name a dataset" in named.json()["detail"]
    assert api.get("/datasets").json() == {"datasets": []}


def test_unknown_datasets_targets_and_logs_are_4xx_with_a_message(api: TestClient, churn_csv: bytes) -> None:
    upload(api, "churn.csv", churn_csv)
    assert api.get("/datasets/nope").status_code == 404
    assert api.get("/datasets/churn", params={"version": 9}).status_code == 404
    target = api.get("/datasets/churn/profile", params={"target": "price"})
    assert target.status_code == 422 and "no column 'price'" in target.json()["detail"]
    logs = api.get("/datasets/churn/logs")
    assert logs.status_code == 422 and "was uploaded, not preprocessed" in logs.json()["detail"]
