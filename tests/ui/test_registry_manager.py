"""RegistryManager against a real MLflow store (SQLite) holding two trained versions."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from tests.ui.helpers import copy_home

from managers.base import ServiceUnavailableError
from managers.registry import RegistryManager, zip_names
from rakuten_mlops.auth.roles import LOCAL_ADMIN
from rakuten_mlops.config import DEFAULT_MODEL_NAME
from rakuten_mlops.errors import RegistryError


@pytest.fixture
def manager(ui_trained_home: Path, tmp_path: Path, http: httpx.Client) -> RegistryManager:
    home = copy_home(ui_trained_home, tmp_path / "mlops")
    return RegistryManager.from_uri(f"sqlite:///{home / 'mlflow.db'}", DEFAULT_MODEL_NAME, http)


def test_versions_carry_aliases_gate_tags_and_test_metrics(manager: RegistryManager) -> None:
    assert manager.status().up
    versions = manager.versions()
    assert [v.version for v in versions] == ["2", "1"]
    assert versions[0].aliases == ["challenger"] and versions[1].aliases == ["champion"]
    champion = manager.champion()
    assert champion is not None and champion.version == "1"
    assert 0 < champion.metrics["weighted_f1"] <= 1


def test_promote_and_rollback_move_the_champion_and_record_history(manager: RegistryManager) -> None:
    manager.promote("2", "looks better in the control room", actor=LOCAL_ADMIN)
    assert manager.champion().version == "2"  # type: ignore[union-attr]
    assert manager.history()[-1] | {"at": None} == {
        "version": "2",
        "action": "manual",
        "at": None,
        "reason": "looks better in the control room",
        "previous": "1",
    }
    assert manager.rollback("not so good", actor=LOCAL_ADMIN) == "1"
    assert manager.champion().version == "1"  # type: ignore[union-attr]
    assert [e["action"] for e in manager.history()][-2:] == ["manual", "rollback"]


def test_rollback_without_an_earlier_champion_says_so(manager: RegistryManager) -> None:
    with pytest.raises(RegistryError, match="no earlier champion"):
        manager.rollback("nothing to go back to", actor=LOCAL_ADMIN)


def test_download_zip_holds_the_mlflow_model(manager: RegistryManager) -> None:
    names = zip_names(manager.download_zip("1"))
    assert "MLmodel" in names and any(n.endswith("model.joblib") for n in names)


def test_runs_confusion_and_per_class_come_from_the_training_runs(manager: RegistryManager) -> None:
    experiments = manager.experiments()
    ids = [e.experiment_id for e in experiments if e.name == "rakuten-product-classification"]
    runs = manager.runs(ids)
    assert len(runs) == 2 and {"weighted_f1", "macro_f1", "accuracy"} <= set(runs.columns)
    run_id = manager.champion().run_id  # type: ignore[union-attr]
    confusion = manager.confusion(run_id)
    assert list(confusion.index) == list(confusion.columns) and len(confusion) >= 20
    per_class = manager.per_class(run_id)
    assert {"label", "precision", "recall", "f1", "support"} <= set(per_class.columns)
    assert per_class["support"].sum() == confusion.to_numpy().sum()


def test_a_missing_artifact_is_a_registry_error(manager: RegistryManager) -> None:
    run_id = manager.champion().run_id  # type: ignore[union-attr]
    with pytest.raises(RegistryError, match="no readable"):
        manager._artifact_frame(run_id, "evaluation/nothing.csv")


def test_a_stopped_mlflow_server_fails_fast_with_its_url(closed_url: str, http: httpx.Client) -> None:
    manager = RegistryManager.from_uri(closed_url, DEFAULT_MODEL_NAME, http)
    started = time.monotonic()
    assert not manager.status().up
    with pytest.raises(ServiceUnavailableError, match=closed_url):
        manager.versions()
    assert time.monotonic() - started < 10
