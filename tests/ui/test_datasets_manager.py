"""DatasetManager against a real database and a real child process running the `preprocess` flow."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.ui.helpers import clean_env

from managers.datasets import DatasetManager
from rakuten_mlops.db import make_engine
from rakuten_mlops.errors import DatabaseError, DataError
from rakuten_mlops.tables.samples import write_messy_csv
from rakuten_mlops.testing.processes import free_port


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'mlops' / 'app.db'}")


@pytest.fixture
def manager(engine: Engine, tmp_path: Path) -> DatasetManager:
    home = tmp_path / "mlops"
    env = clean_env(
        MLOPS_HOME=str(home), DATABASE_URL=str(engine.url), PREFECT_SERVER_ANALYTICS_ENABLED="false"
    )
    return DatasetManager(engine, home / "datasets", 10 * 1024**2, env)


@pytest.fixture(scope="module")
def churn_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("ui-datasets") / "churn.csv"
    write_messy_csv(path, 200, seed=6)
    return path.read_bytes()


@pytest.mark.slow
def test_a_run_started_from_the_control_room_is_followed_through_its_log(
    manager: DatasetManager, churn_bytes: bytes
) -> None:
    added = manager.add(churn_bytes, "churn.csv")
    assert (added.name, added.version, added.created) == ("churn", 1, True)
    assert manager.add(churn_bytes, "churn.csv").created is False
    profile = manager.profile("churn")
    assert profile.target is not None and profile.target.guessed and profile.target.column == "churned"
    steps = [
        s.id for s in manager.suggest("churn", "churned").steps if s.id in {"drop-customer_id", "impute-age"}
    ]
    run = manager.start_preprocess("churn", "churned", steps)
    assert run.state == "RUNNING" and not run.final
    finished = manager.wait(run.id, timeout=300)
    assert finished.state == "COMPLETED", finished.error
    assert finished.result is not None and (
        finished.result["version"],
        finished.result["parent_version"],
    ) == (2, 1)
    assert any(line.get("step") == "impute-age" and line["rows_affected"] > 0 for line in finished.log)
    assert manager.version_log("churn", 2) == finished.log
    assert [d.latest_version for d in manager.datasets()] == [2]


def test_steps_are_checked_before_anything_starts(manager: DatasetManager, churn_bytes: bytes) -> None:
    manager.add(churn_bytes, "churn.csv")
    report = manager.report_html("churn")
    assert (
        report.lstrip().lower().startswith("<!doctype html")
        and "churn v1" in report
        and "account_status" in report
    )
    with pytest.raises(DataError, match="no suggested step has the id 'nothing'"):
        manager.start_preprocess("churn", "churned", ["nothing"])
    with pytest.raises(DataError, match="no preprocessing run abc"):
        manager.run("abc")


def test_a_database_that_does_not_answer_is_said_so(tmp_path: Path) -> None:
    down = make_engine(
        f"postgresql+psycopg2://nobody@127.0.0.1:{free_port()}/none", connect_args={"connect_timeout": 2}
    )
    manager = DatasetManager(down, tmp_path / "datasets", 1024, {})
    with pytest.raises(DatabaseError, match="is the database running"):
        manager.datasets()
