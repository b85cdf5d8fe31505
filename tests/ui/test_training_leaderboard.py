"""The Training page shows a searched run's leaderboard; the runs table lists training runs, not candidates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from tests.homes import sqlite_home
from tests.ui.helpers import APP_DIR

from managers.registry import RegistryManager
from rakuten_mlops.config import DEFAULT_MODEL_NAME
from rakuten_mlops.data.catalogue import load_labelled
from rakuten_mlops.data.ingestion import ingest_sample
from rakuten_mlops.testing.processes import free_port
from rakuten_mlops.training.base import Family
from rakuten_mlops.training.choices import SearchMode
from rakuten_mlops.training.pipeline import fit_and_evaluate, log_training_run, refit_winner, split_frames
from rakuten_mlops.training.search.driver import run_search
from rakuten_mlops.training.search.evaluate import SearchData
from rakuten_mlops.training.search.executors import InlineExecutor
from rakuten_mlops.training.search.results import SearchPlan


@pytest.fixture(scope="module")
def searched_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A home with a run trained without a search, then a searched run (newest); returns their run ids."""
    home = tmp_path_factory.mktemp("searched") / "mlops"
    settings, engine = sqlite_home(home, MODEL_NAME=DEFAULT_MODEL_NAME)
    ingest_sample(engine, 1_500, seed=2)
    frame = load_labelled(engine, settings.split_seed)
    engine.dispose()
    parts = split_frames(frame)
    plain, _, _ = log_training_run(fit_and_evaluate(parts, "sklearn", "cpu", 1), frame, parts, settings)
    data = SearchData.from_frames(parts["train"], parts["validation"])
    plan = SearchPlan(SearchMode.QUICK, (Family.LINEAR_SVC, Family.COMPLEMENT_NB), 600.0, 5, 100, 1, "cpu")
    result = run_search(data, plan, InlineExecutor(data))
    searched, _, _ = log_training_run(refit_winner(parts, result, "cpu", 1), frame, parts, settings)
    return home, plain, searched


@pytest.fixture
def manager(searched_home: tuple[Path, str, str]) -> Iterator[RegistryManager]:
    with httpx.Client(timeout=3.0) as http:
        yield RegistryManager.from_uri(
            f"sqlite:///{searched_home[0] / 'mlflow.db'}", DEFAULT_MODEL_NAME, http
        )


def test_the_leaderboard_comes_best_first_and_runs_without_a_search_have_none(
    manager: RegistryManager, searched_home: tuple[Path, str, str]
) -> None:
    _, plain, searched = searched_home
    board = manager.leaderboard(searched)
    assert len(board) == 5 and list(board["rank"]) == [1, 2, 3, 4, 5]
    assert set(board["family"]) <= {"linear_svc", "complement_nb"}
    assert list(board["chosen"]) == [True, False, False, False, False]
    assert manager.leaderboard(plain).empty


def test_the_runs_table_lists_training_runs_and_not_their_candidates(
    manager: RegistryManager, searched_home: tuple[Path, str, str]
) -> None:
    experiments = [
        e.experiment_id for e in manager.experiments() if e.name == "rakuten-product-classification"
    ]
    runs = manager.runs(experiments)
    assert list(runs["run_id"]) == [searched_home[2], searched_home[1]]


def test_the_training_page_charts_the_leaderboard_of_the_inspected_run(
    searched_home: tuple[Path, str, str], ui_env: pytest.MonkeyPatch
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    ui_env.setenv("MLOPS_HOME", str(searched_home[0]))
    for name in ("API_URL", "PROMETHEUS_URL", "GRAFANA_URL"):
        ui_env.setenv(name, closed)
    st.cache_resource.clear()
    at = AppTest.from_file(str(APP_DIR / "Home.py"), default_timeout=120).run()
    at = at.switch_page("views/training.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Model search leaderboard" in md.value and "5 candidates" in md.value for md in at.markdown)
    boards = [df.value for df in at.dataframe if "validation_f1" in df.value.columns]
    assert len(boards) == 1 and list(boards[0]["rank"]) == [1, 2, 3, 4, 5]
    assert len(at.get("vega_lite_chart")) == 1  # the validation F1 against fit time chart
    st.cache_resource.clear()
