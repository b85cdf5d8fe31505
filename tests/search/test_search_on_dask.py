"""The training flow's candidates on an existing Dask cluster: a real scheduler and two worker processes."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from tests.tools import require_tool

from rakuten_mlops.config import Settings, get_settings
from rakuten_mlops.data.ingestion import ingest_rakuten, ingest_sample
from rakuten_mlops.db import make_engine, upgrade
from rakuten_mlops.testing.processes import ServiceProcess, free_port

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[int]]]:
    """`dask scheduler` and two single-threaded `dask worker` processes on free loopback ports."""
    dask = require_tool("dask", "make install")
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    scheduler = ServiceProcess(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
        env,
        logs / "scheduler.log",
    ).start()
    workers = [
        ServiceProcess(
            [dask, "worker", address, "--host", "127.0.0.1", "--worker-port", str(free_port()), "--nthreads", "1",
             "--no-nanny", "--no-dashboard", "--name", f"worker-{i}"],
            env, logs / f"worker-{i}.log",
        ).start()
        for i in range(2)
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout=5) as client:
                    if len(client.scheduler_info()["workers"]) == 2:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "the Dask workers did not join:\n" + "\n".join(w.log_tail() for w in workers)
                )
            time.sleep(0.5)
        yield address, [w.process.pid for w in workers if w.process is not None]
    finally:
        for process in [*workers, scheduler]:
            process.stop()


def test_candidates_run_on_the_cluster_at_dask_scheduler_address(
    dask_cluster: tuple[str, list[int]],
    settings: Settings,
    real_frame: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scripts.datasets.common import TextDataset, write_challenge_files

    from flows.pipeline_flow import training_pipeline

    address, worker_pids = dask_cluster
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
    get_settings.cache_clear()
    frame = real_frame.rename(columns={"label": "prdtypecode"}).assign(
        prdtypecode=lambda f: f["prdtypecode"].astype(int)
    )
    files = write_challenge_files(TextDataset("wordnet_sample", frame, {}, "test"), tmp_path / "set")
    engine = make_engine(settings.db_url)
    upgrade(engine)
    assert ingest_rakuten(engine, files.x, files.y).inserted == len(frame)
    engine.dispose()

    summary = training_pipeline(budget_minutes=0.4, promote=False)
    assert summary.search == "quick" and summary.leaderboard_size >= 2 and summary.winner is not None

    mlflow.set_tracking_uri(settings.tracking_uri)
    local = mlflow.artifacts.download_artifacts(
        run_id=summary.run_id, artifact_path="search/leaderboard.json"
    )
    rows = json.loads(Path(local).read_text(encoding="utf-8"))
    where = {w for row in rows for w in row["workers"]}
    pids = {int(w.rsplit(":", 1)[1]) for w in where}
    # Every job ran in one of the two worker processes, none in this one; both took work.
    assert pids <= set(worker_pids) and os.getpid() not in pids
    assert len(pids) == 2, where


def test_a_scheduler_that_does_not_answer_fails_the_run_in_one_sentence(
    settings: Settings, real_frame: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.pipeline_flow import training_pipeline
    from rakuten_mlops.errors import ConfigError
    from rakuten_mlops.registry import Registry

    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", f"tcp://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    engine = make_engine(settings.db_url)
    upgrade(engine)
    ingest_sample(engine, 600, seed=1)
    engine.dispose()
    state = training_pipeline(budget_minutes=0.2, return_state=True)
    error = state.result(raise_on_failure=False)
    assert isinstance(error, ConfigError) and "does not answer" in str(error) and "unset" in str(error)
    assert Registry.from_uri(settings.tracking_uri, settings.model_name).champion() is None


def test_a_table_search_scores_its_candidates_on_the_cluster_as_it_would_here(
    dask_cluster: tuple[str, list[int]],
) -> None:
    from distributed import Client
    from sklearn.datasets import load_iris

    from rakuten_mlops.automl.search import search_table
    from rakuten_mlops.automl.spec import build_spec
    from rakuten_mlops.tables.profiling import profile_frame

    address, _ = dask_cluster
    with Client(address, timeout=10) as client:
        workers = set(client.scheduler_info()["workers"])
    frame = load_iris(as_frame=True).frame.rename(columns={"target": "species"})
    profile = profile_frame(frame, "species")
    spec = build_spec(profile, target="species")
    families = ("linear", "knn")  # the quick ones: the cluster is what is tested here
    trials = len(families) + 2
    remote = search_table(spec, profile, frame, max_trials=trials, budget_seconds=600, families=families,
                          dask_address=address)  # fmt: skip
    here = search_table(spec, profile, frame, max_trials=len(families), budget_seconds=600, families=families)
    assert len(remote.candidates) == trials
    assert {c.worker for c in remote.candidates} == workers  # both workers scored candidates
    assert all(c.worker is None for c in here.candidates)
    # The families at their defaults come first, and score the same on the cluster as here.
    defaults = {c.params["family"]: c.score for c in remote.candidates if c.trial < len(families)}
    assert defaults == {c.params["family"]: c.score for c in here.candidates}
    assert remote.winner.score == max(c.score for c in remote.candidates if c.score is not None)


def test_a_table_search_names_the_scheduler_that_does_not_answer() -> None:
    from sklearn.datasets import load_iris

    from rakuten_mlops.automl.search import search_table
    from rakuten_mlops.automl.spec import build_spec
    from rakuten_mlops.errors import ConfigError
    from rakuten_mlops.tables.profiling import profile_frame

    frame = load_iris(as_frame=True).frame
    profile = profile_frame(frame, "target")
    closed = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(ConfigError, match=rf"DASK_SCHEDULER_ADDRESS={closed} does not answer"):
        search_table(
            profile=profile, spec=build_spec(profile, target="target"), train=frame, dask_address=closed
        )
