"""The registry under faults: absent is not unreachable, and a champion change cut short is settled.

Real MLflow SQLite stores; versions are registered without training (the registry never loads them
here). A failure between MLflow calls is made by a client whose one call raises once, as a network
cut would between two requests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from typer.testing import CliRunner

from rakuten_mlops.cli import app
from rakuten_mlops.config import Settings
from rakuten_mlops.errors import RegistryError
from rakuten_mlops.registry import HISTORY_TAG, INTENT_TAG, Registry
from rakuten_mlops.testing.processes import free_port
from rakuten_mlops.tracking import display_uri

NAME = "faulty-model"


class FailingOnce(MlflowClient):
    """A real client on a real store whose alias move, or history write, fails once when armed."""

    def __init__(self, uri: str) -> None:
        super().__init__(tracking_uri=uri, registry_uri=uri)
        self.fail_alias = self.fail_history = False

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        if self.fail_alias:
            self.fail_alias = False
            raise MlflowException("connection to the tracking server was reset")
        super().set_registered_model_alias(name, alias, version)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        if self.fail_history and key == HISTORY_TAG:
            self.fail_history = False
            raise MlflowException("connection to the tracking server was reset")
        super().set_registered_model_tag(name, key, value)


def _versions(client: MlflowClient, count: int) -> None:
    client.create_registered_model(NAME)
    for _ in range(count):
        client.create_model_version(NAME, source="file:///nowhere/model")


@pytest.fixture
def uri(settings: Settings) -> str:
    return settings.tracking_uri


def test_absent_is_none_and_false_not_an_error(uri: str) -> None:
    registry = Registry.from_uri(uri, NAME)
    assert not registry.exists() and registry.champion() is None
    assert registry.versions() == [] and registry.history() == []
    _versions(MlflowClient(tracking_uri=uri, registry_uri=uri), 1)
    assert registry.exists() and registry.champion() is None and registry.newest_version() == "1"


def test_an_unreachable_tracking_server_is_an_error_naming_it_not_no_champion() -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    registry = Registry.from_uri(uri, NAME)
    with pytest.raises(RegistryError, match=rf"^the MLflow registry at {uri} failed .*: connection refused$"):
        registry.champion()
    with pytest.raises(RegistryError, match=uri):
        registry.exists()


def test_a_postgresql_store_that_does_not_answer_is_named_without_its_password() -> None:
    uri = f"postgresql://mlflow:s3cret@127.0.0.1:{free_port()}/mlflow"
    with pytest.raises(RegistryError) as raised:
        Registry.from_uri(uri, NAME)
    message = str(raised.value)
    assert message.startswith(f"the MLflow tracking store {display_uri(uri)} does not answer")
    assert "s3cret" not in message and "mlflow:***@127.0.0.1" in message


def test_models_list_with_an_unreachable_server_exits_1_naming_it(mlops_home: Path) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["models", "list", "--json"], env={"MLFLOW_TRACKING_URI": uri})
    assert result.exit_code == 1
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert (
        payload["ok"] is False and uri in payload["error"] and "no registered version" not in payload["error"]
    )
    assert "Traceback" not in result.output


def test_the_command_line_says_it_in_one_sentence_on_stderr(mlops_home: Path) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "rakuten_mlops.cli", "models", "list"],
        env={"MLFLOW_TRACKING_URI": uri, "MLOPS_HOME": str(mlops_home), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert uri in done.stderr and "Traceback" not in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) <= 2  # one sentence, wrapped


def test_history_written_after_the_alias_moved_is_completed_by_the_next_call(uri: str) -> None:
    _versions(MlflowClient(tracking_uri=uri, registry_uri=uri), 2)
    faulty = FailingOnce(uri)
    registry = Registry(faulty, NAME)
    registry.promote("1", "first")
    faulty.fail_history = True
    with pytest.raises(RegistryError, match=r"v2 of 'faulty-model' is now the champion, but recording it"):
        registry.promote("2", "better")

    fresh = Registry.from_uri(uri, NAME)
    assert str(fresh.champion().version) == "2"  # type: ignore[union-attr]
    assert [e["version"] for e in fresh.history()] == ["1", "2"]  # settled: champion and history agree
    assert INTENT_TAG not in MlflowClient(tracking_uri=uri, registry_uri=uri).get_registered_model(NAME).tags
    assert fresh.rollback("back") == "1"
    assert str(fresh.champion().version) == "1"  # type: ignore[union-attr]


def test_an_alias_that_never_moved_leaves_champion_and_history_as_they_were(uri: str) -> None:
    _versions(MlflowClient(tracking_uri=uri, registry_uri=uri), 2)
    faulty = FailingOnce(uri)
    registry = Registry(faulty, NAME)
    registry.promote("1", "first")
    faulty.fail_alias = True
    with pytest.raises(RegistryError, match="moving the champion alias to v2"):
        registry.promote("2", "better")

    fresh = Registry.from_uri(uri, NAME)
    assert [e["version"] for e in fresh.history()] == ["1"]
    assert str(fresh.champion().version) == "1"  # type: ignore[union-attr]
    fresh.promote("2", "again")  # the retried promotion is recorded
    assert [e["version"] for e in fresh.history()] == ["1", "2"]
    assert str(fresh.champion().version) == "2"  # type: ignore[union-attr]


def test_promoting_a_version_that_does_not_exist_says_so(uri: str) -> None:
    _versions(MlflowClient(tracking_uri=uri, registry_uri=uri), 1)
    with pytest.raises(RegistryError, match=r"model 'faulty-model' has no version 7 in the registry at"):
        Registry.from_uri(uri, NAME).promote("7", "typo")
