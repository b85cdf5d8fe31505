"""Managers refuse what a role may not do, even when called directly, and audit every kind of change."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from tests.ui.docker_engine import FakeEngine
from tests.ui.helpers import copy_home

from managers.database import DatabaseManager
from managers.flows import INGEST, FlowManager, LocalRunner, subprocess_env
from managers.guard import Guard
from managers.infrastructure import InfrastructureManager
from managers.monitoring import MonitoringManager
from managers.registry import RegistryManager
from rakuten_mlops.auth.audit import list_entries
from rakuten_mlops.auth.roles import Principal, Role
from rakuten_mlops.config import DEFAULT_MODEL_NAME
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.errors import PermissionDeniedError
from rakuten_mlops.monitoring.alerts import list_alerts, raise_alert
from rakuten_mlops.registry import Registry

VIEWER = Principal("val", Role.VIEWER)
OPERATOR = Principal("olga", Role.OPERATOR)
ADMIN = Principal("ada", Role.ADMIN)


@pytest.fixture
def home(ui_trained_home: Path, tmp_path: Path) -> Path:
    return copy_home(ui_trained_home, tmp_path / "mlops")


@pytest.fixture
def engine(home: Path) -> Engine:
    eng = make_engine(f"sqlite:///{home / 'app.db'}")
    upgrade(eng)
    return eng


def test_a_crafted_promotion_by_a_viewer_or_operator_is_refused_and_changes_nothing(
    home: Path, engine: Engine, http: httpx.Client
) -> None:
    uri = f"sqlite:///{home / 'mlflow.db'}"
    manager = RegistryManager.from_uri(uri, DEFAULT_MODEL_NAME, http, Guard(engine))
    for who in (VIEWER, OPERATOR):
        with pytest.raises(
            PermissionDeniedError, match=f"promote needs the admin role; {who.name} is {who.role}"
        ):
            manager.promote("2", "sneaky", actor=who)
    with pytest.raises(PermissionDeniedError):
        manager.rollback("sneaky", actor=OPERATOR)
    assert str(Registry.from_uri(uri, DEFAULT_MODEL_NAME).champion().version) == "1"  # type: ignore[union-attr]
    assert [(e.user, e.result.split(":")[0]) for e in list_entries(engine)] == [
        ("olga", "refused"),
        ("olga", "refused"),
        ("val", "refused"),
    ]


def test_each_kind_of_change_from_the_control_room_is_audited(
    home: Path, engine: Engine, http: httpx.Client, tmp_path: Path
) -> None:
    guard = Guard(engine)
    registry = RegistryManager.from_uri(f"sqlite:///{home / 'mlflow.db'}", DEFAULT_MODEL_NAME, http, guard)
    registry.promote("2", "better", actor=ADMIN)
    registry.rollback("worse after all", actor=ADMIN)
    alert = raise_alert(engine, "drift", "warning", "drift on v1")
    MonitoringManager(engine, http, "http://127.0.0.1:1", guard=guard).acknowledge(
        alert.id, "olga", actor=OPERATOR
    )
    DatabaseManager(engine, guard=guard).ingest_sample(50, 1, actor=OPERATOR)
    runner = LocalRunner(tmp_path / "runs", subprocess_env({"MLOPS_HOME": str(home)}))
    flows = FlowManager(None, runner, http, guard=guard)
    run = flows.trigger(INGEST, {"kind": "sample", "rows": 20, "seed": 3}, actor=OPERATOR)
    with FakeEngine({"rakuten-api": "exited"}) as docker:
        import docker as docker_sdk

        infrastructure = InfrastructureManager(
            [], lambda: docker_sdk.DockerClient(base_url=docker.url), guard=guard
        )
        infrastructure.act("rakuten-api", "start", actor=ADMIN)
        with pytest.raises(PermissionDeniedError):
            infrastructure.act("rakuten-api", "stop", actor=OPERATOR)
    flows.wait_local(run.id, timeout=120)
    entries = list(reversed(list_entries(engine)))
    assert [(e.user, e.action, e.result.split(":")[0]) for e in entries] == [
        ("ada", "promote", "ok"),
        ("ada", "rollback", "ok"),
        ("olga", "acknowledge", "ok"),
        ("olga", "ingest", "ok"),
        ("olga", "ingest", "ok"),
        ("ada", "containers", "ok"),
        ("olga", "containers", "refused"),
    ]
    assert entries[0].arguments == {"version": "2", "reason": "better"}
    assert entries[4].arguments["deployment"] == INGEST
    assert list_alerts(engine, include_acknowledged=True)[0].acknowledged_by == "olga"
