"""Secrets never come back: searched for by value in the API's log, MLflow params and tags, /model and /metrics."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient

from rakuten_mlops.auth.roles import LOCAL_ADMIN
from rakuten_mlops.auth.settings_store import SettingsStore
from rakuten_mlops.auth.tokens import issue_token
from rakuten_mlops.auth.users import create_user
from rakuten_mlops.db import make_engine
from rakuten_mlops.testing.processes import ServiceProcess, api_command, free_port
from rakuten_mlops.testing.trained import build_trained_home

SECRETS = {
    "API_KEY": "svc-key-3f9a1c7e5b2d4f60",
    "SECRET_KEY": "enc-key-8b6d2e4f1a3c5e79",
    "ADMIN_PASSWORD": "admin-pass-5c7e9a1b3d",
}
LLM_KEY = "sk-llm-0a1b2c3d4e5f6a7b8c9d"
WEBHOOK = "https://hooks.example.test/services/T123/B456/hook-secret-7d8e9f"


def test_no_secret_reaches_logs_mlflow_model_or_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "mlops"
    settings = build_trained_home(home, 1_500, seed=3)  # training runs with every secret in its environment
    engine = make_engine(settings.db_url)
    store = SettingsStore(engine, SECRETS["SECRET_KEY"])
    store.set("llm.api_key", LLM_KEY, LOCAL_ADMIN)
    store.set("notifications.webhooks", json.dumps([{"name": "ops", "url": WEBHOOK}]), LOCAL_ADMIN)
    create_user(engine, "ops-bot", "operator", None)
    token = issue_token(engine, "ops-bot").token
    secrets = [*SECRETS.values(), LLM_KEY, WEBHOOK, token, token.rsplit("_", 1)[1]]

    port = free_port()
    env = {**os.environ, "MLOPS_HOME": str(home), "MODEL_POLL_SECONDS": "0"}
    process = ServiceProcess(api_command(port, log_level="debug"), env, tmp_path / "api.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_http(f"{url}/ready", timeout=120)
        with httpx.Client(base_url=url, timeout=30) as client:
            seen = [client.get("/model").text, client.get("/health").text]
            assert (
                client.post("/model/reload", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            )
            forged = client.post("/model/reload", headers={"Authorization": f"Bearer {token[:-2]}xx"})
            wrong_key = client.post("/model/reload", headers={"X-API-Key": SECRETS["API_KEY"][:-1] + "X"})
            assert (forged.status_code, wrong_key.status_code) == (401, 401)
            seen += [forged.text, wrong_key.text, client.get("/alerts").text, client.get("/metrics").text]
    finally:
        process.stop()
    log = (tmp_path / "api.log").read_text(encoding="utf-8", errors="replace")
    assert "refused credentials" in log  # the failures were logged, without what was sent

    mlflow = MlflowClient(settings.tracking_uri)
    recorded = []
    for experiment in mlflow.search_experiments():
        for run in mlflow.search_runs([experiment.experiment_id]):
            recorded += [json.dumps(run.data.params), json.dumps(run.data.tags)]
    assert recorded, "the training run is in MLflow"
    with engine.connect() as connection:
        stored = json.dumps(
            [list(r) for r in connection.exec_driver_sql("SELECT * FROM settings").all()], default=str
        )
        audit = json.dumps(
            [list(r) for r in connection.exec_driver_sql("SELECT * FROM audit_log").all()], default=str
        )
    for secret in secrets:
        for where, text in (
            ("the API log", log),
            ("MLflow", "\n".join(recorded)),
            ("API answers", "\n".join(seen)),
        ):
            assert secret not in text, f"a secret reached {where}"
        assert secret not in stored and secret not in audit, "a secret is stored in clear or audited"
