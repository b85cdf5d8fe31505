"""AutoML from the control room: read a task, run `rakuten-mlops automl` in a child process, use its models.

The spec is read in this process (the profile is cached by the store), shown, edited and confirmed;
the search runs as the real command in a child process, whose output the page follows. The models
side reads the registry: each task's champion, its SHAP plots and leaderboard from its MLflow run,
one row explained, the drift of the records the API was sent, and the model folder as a zip.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from managers.guard import Guard
from managers.local_runs import Children, last_json
from rakuten_mlops.auth.roles import Principal
from rakuten_mlops.automl.drift import TableDriftCheck, check_table_drift
from rakuten_mlops.automl.explain import Explainer, RowExplanation
from rakuten_mlops.automl.served import TableModel, TableModels
from rakuten_mlops.automl.spec import default_exclusions, edit_spec
from rakuten_mlops.automl.task import PlannedTask, plan_task
from rakuten_mlops.config import Settings
from rakuten_mlops.errors import DataError
from rakuten_mlops.monitoring.store import StoredDriftReport, recent_drift
from rakuten_mlops.registry import Registry, VersionInfo
from rakuten_mlops.tables.store import DatasetStore


@dataclass(frozen=True)
class AutoMLRun:
    """One search started from the control room."""

    id: str
    dataset: str
    target: str
    started: datetime
    state: str = "RUNNING"  # RUNNING, COMPLETED or FAILED
    result: dict[str, Any] | None = None  # the command's JSON summary once it completed
    error: str | None = None
    output: str = ""

    @property
    def final(self) -> bool:
        return self.state != "RUNNING"


class AutoMLManager:
    """Tasks, searches in child processes, and the table models in the registry."""

    def __init__(
        self,
        store: DatasetStore,
        tracking_uri: str,
        env: Mapping[str, str],
        command: Sequence[str] | None = None,
        guard: Guard | None = None,
        settings: Settings | None = None,
    ) -> None:
        self._store = store
        self._settings = settings  # where drift checks find the API and keep their reports
        self._models = TableModels(tracking_uri, check_seconds=0.0)
        self._tracking_uri = tracking_uri
        self._command = list(command or [sys.executable, "-m", "rakuten_mlops.cli"])
        self._children: Children[AutoMLRun] = Children(env)
        self._guard = guard or Guard()

    # ------------------------------------------------------------ tasks

    def datasets(self) -> list[str]:
        """The datasets a task can be read from, by name."""
        return [d.name for d in self._store.list()]

    def plan(
        self, dataset: str, *, target: str | None = None, prompt: str | None = None, metric: str | None = None
    ) -> PlannedTask:
        """The task read from a prompt or a target, to show and confirm."""
        return plan_task(self._store, dataset, target=target, prompt=prompt, metric=metric)

    def edit(
        self, planned: PlannedTask, *, metric: str | None, exclude: Sequence[str], include: Sequence[str]
    ) -> PlannedTask:
        """The task after the user's changes (validated: a metric that fits, a feature left)."""
        return replace(planned, spec=edit_spec(planned.spec, metric=metric, exclude=exclude, include=include))

    def start(self, planned: PlannedTask, budget_minutes: float, *, actor: Principal) -> AutoMLRun:
        """Start `rakuten-mlops automl` on the confirmed spec in a child process (operator)."""
        spec = planned.spec
        arguments = {"dataset": planned.dataset, "target": spec.target, "budget_minutes": budget_minutes}
        return self._guard.run(actor, "automl", arguments, lambda: self._start(planned, budget_minutes))

    def _start(self, planned: PlannedTask, budget_minutes: float) -> AutoMLRun:
        spec = planned.spec
        run_id = uuid.uuid4().hex
        default = set(default_exclusions(planned.profile, spec.target))
        excluded = {e.column for e in spec.excluded}
        arguments = [
            "automl", planned.dataset, "--target", spec.target, "--metric", spec.metric,
            "--budget-minutes", f"{budget_minutes:g}", "--yes", "--json",
        ]  # fmt: skip
        for column in sorted(excluded - default):
            arguments += ["--exclude", column]
        for column in sorted(default - excluded):
            arguments += ["--include", column]
        run = AutoMLRun(run_id, planned.dataset, spec.target, datetime.now(UTC))
        output = self._store.root / "logs" / f"automl-{run_id}.out"
        self._children.start(run_id, [*self._command, *arguments], output, run)
        return self.run(run_id)

    def run(self, run_id: str) -> AutoMLRun:
        """A search's state and what it printed so far."""
        child = self._children.get(run_id)
        if child is None:
            raise DataError(f"no AutoML run {run_id} was started by this control room")
        text = child.text()
        code = child.exit_code()
        if code is None:
            return replace(child.record, output=text)
        summary = last_json(text)
        if code == 0 and summary is not None and "error" not in summary:
            return replace(child.record, state="COMPLETED", result=summary, output=text)
        error = (summary or {}).get("error") or (text.strip().splitlines() or [f"exit code {code}"])[-1]
        return replace(child.record, state="FAILED", error=error, output=text)

    def wait(self, run_id: str, timeout: float) -> AutoMLRun:
        """Wait for a search to end (tests and scripts)."""
        self._children.wait(run_id, timeout)
        return self.run(run_id)

    # ------------------------------------------------------------ models

    def model_names(self) -> list[str]:
        """The AutoML models in the registry."""
        return self._models.names()

    def champion(self, name: str) -> TableModel:
        """A model's champion, loaded."""
        return self._models.champion(name)

    def versions(self, name: str) -> list[VersionInfo]:
        """Every version of a model, newest first, with its gate decision."""
        return self._registry(name).versions()

    def _registry(self, name: str) -> Registry:
        return self._models.registry(name)

    def _run_file(self, name: str, version: str, path: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="automl-ui-") as folder:
            found = self._registry(name).download_run_artifact(version, path, Path(folder))
            return found.read_bytes()

    def plots(self, name: str, version: str) -> dict[str, bytes]:
        """The SHAP bar and beeswarm PNGs of a version's run."""
        return {
            kind: self._run_file(name, version, f"explanations/shap_{kind}.png")
            for kind in ("bar", "beeswarm")
        }

    def leaderboard(self, name: str, version: str) -> pd.DataFrame:
        """Every candidate of the search behind a version: trial, family, score, seconds, error."""
        rows = json.loads(self._run_file(name, version, "task/leaderboard.json"))
        return pd.DataFrame(rows, columns=["trial", "family", "score", "seconds", "error"])

    def reference(self, name: str, version: str) -> pd.DataFrame:
        """Held-out rows kept with the run (what a row to explain is picked from)."""
        with tempfile.TemporaryDirectory(prefix="automl-ui-") as folder:
            path = self._registry(name).download_run_artifact(
                version, "reference/reference_sample.parquet", Path(folder)
            )
            return pd.read_parquet(path)

    def explain(self, name: str, record: dict[str, Any]) -> tuple[dict[str, Any], RowExplanation]:
        """The champion's answer for one record and each column's contribution to it."""
        model = self.champion(name)
        frame = model.frame([record])
        answer = model.predict(frame)[0]
        background = self.reference(name, model.version)[model.columns]
        return answer, Explainer(model.pipeline, background).explain_row(frame)

    def drift_reports(self, name: str, limit: int = 30) -> list[StoredDriftReport]:
        """The drift checks of a table model, newest first."""
        return recent_drift(self._store.engine, limit, model=name)

    def check_drift(self, name: str, *, actor: Principal) -> TableDriftCheck:
        """Check the records the API scored for `name` against its champion's reference now (operator)."""
        if self._settings is None:
            raise DataError("this control room was started without settings, so it cannot check drift")
        settings = self._settings
        return self._guard.run(
            actor,
            "drift_check",
            {"model": name},
            lambda: check_table_drift(settings, self._store.engine, name, report_dir=settings.reports_dir),
        )

    def download_zip(self, name: str, version: str) -> bytes:
        """The version's MLflow model folder as a zip (`mlflow models serve -m FOLDER` serves it)."""
        with tempfile.TemporaryDirectory(prefix="automl-download-") as folder:
            path = self._registry(name).download(version, Path(folder))
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in sorted(p for p in path.rglob("*") if p.is_file()):
                    archive.write(file, Path(f"{name}-v{version}") / file.relative_to(path))
            return buffer.getvalue()
