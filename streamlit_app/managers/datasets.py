"""The datasets workbench as the control room uses it: the store, profiles, suggestions, preprocessing runs.

Reads and uploads go to the package's datasets store directly (the same database and MLOPS_HOME as
the CLI and the API); a preprocessing run is `rakuten-mlops datasets preprocess` in a child process
(its flow reports to the Prefect server when one is configured), followed through its JSON-lines
log while it runs.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from managers.guard import Guard
from managers.local_runs import Children, last_json
from managers.runs import FINAL_STATES
from rakuten_mlops.auth.roles import Principal
from rakuten_mlops.db import ensure_schema
from rakuten_mlops.errors import DatabaseError, DataError
from rakuten_mlops.tables.models import TableProfile
from rakuten_mlops.tables.records import AddResult, DatasetDetail, DatasetSummary
from rakuten_mlops.tables.runlog import read_log
from rakuten_mlops.tables.store import DatasetStore
from rakuten_mlops.tables.workbench import (
    Suggestions,
    check_step_ids,
    profile_dataset,
    run_log_path,
    suggest_for_dataset,
    table_report_html,
    version_log,
)


@dataclass(frozen=True)
class PreprocessRun:
    """One preprocessing run started from the control room."""

    id: str
    dataset: str
    target: str
    steps: list[str]
    state: str  # RUNNING, COMPLETED or FAILED
    started: datetime
    result: dict[str, Any] | None = None  # the command's JSON summary once it completed
    error: str | None = None
    log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def final(self) -> bool:
        """Whether the run has finished."""
        return self.state in FINAL_STATES


class DatasetManager:
    """Datasets, profiles and suggestions from the store; preprocessing runs in child processes."""

    def __init__(
        self,
        engine: Engine,
        root: Path,
        max_bytes: int,
        env: Mapping[str, str],
        command: Sequence[str] | None = None,
        guard: Guard | None = None,
    ) -> None:
        self._guard = guard or Guard()
        self._store = DatasetStore(engine, root, max_bytes)
        self._command = list(command or [sys.executable, "-m", "rakuten_mlops.cli"])
        self._children: Children[PreprocessRun] = Children(env)
        self._migrated = False

    @property
    def max_mb(self) -> float:
        """The upload limit in megabytes (DATASET_MAX_MB)."""
        return self._store.max_bytes / 1024**2

    def store(self) -> DatasetStore:
        """The store, its database migrated on first use; a database that does not answer says so."""
        if not self._migrated:
            try:
                ensure_schema(self._store.engine)
            except DatabaseError as exc:
                raise DatabaseError(f"{exc}; is the database running?") from exc
            self._migrated = True
        return self._store

    def datasets(self) -> list[DatasetSummary]:
        """Every dataset with its newest version."""
        return self.store().list()

    def add(self, data: bytes, filename: str, name: str | None = None, *, actor: Principal) -> AddResult:
        """Add uploaded bytes as a new version (operator; the same bytes again change nothing)."""

        def work() -> AddResult:
            with tempfile.TemporaryDirectory(prefix="dataset-upload-") as folder:
                path = Path(folder) / "upload"
                path.write_bytes(data)
                return self.store().add(path, name or None, filename=Path(filename).name)

        return self._guard.run(actor, "dataset_add", {"file": Path(filename).name, "name": name}, work)

    def show(self, name: str, version: int | None = None) -> DatasetDetail:
        """One version with its schema, lineage and the dataset's history."""
        return self.store().show(name, version)

    def profile(self, name: str, target: str | None = None, version: int | None = None) -> TableProfile:
        """The profile of a version (cached by the store once computed)."""
        return profile_dataset(self.store(), name, target, version)

    def suggest(self, name: str, target: str, version: int | None = None) -> Suggestions:
        """The suggested steps with their previews."""
        return suggest_for_dataset(self.store(), name, target, version)

    def report_html(self, name: str, version: int | None = None) -> str:
        """skrub's interactive table report of a version, as one HTML page."""
        return table_report_html(self.store(), name, version)

    def version_log(self, name: str, version: int | None = None) -> list[dict[str, Any]]:
        """The log of the run that produced a preprocessed version."""
        return version_log(self.store(), name, version)

    def start_preprocess(
        self, name: str, target: str, steps: list[str], version: int | None = None, *, actor: Principal
    ) -> PreprocessRun:
        """Start `datasets preprocess` in a child process (operator); the steps are checked first."""
        arguments = {"dataset": name, "target": target, "steps": steps, "version": version}
        return self._guard.run(
            actor, "dataset_add", arguments, lambda: self._start_preprocess(name, target, steps, version)
        )

    def _start_preprocess(
        self, name: str, target: str, steps: list[str], version: int | None
    ) -> PreprocessRun:
        check_step_ids(self.store(), name, target, steps, version)
        run_id = uuid.uuid4().hex
        output = self._store.root / "logs" / f"{run_id}.out"
        arguments = [
            "datasets",
            "preprocess",
            name,
            "--target",
            target,
            "--steps",
            ",".join(steps),
            "--log-id",
            run_id,
            "--json",
        ]
        if version is not None:
            arguments += ["--version", str(version)]
        run = PreprocessRun(run_id, name, target, list(steps), "RUNNING", datetime.now(UTC))
        self._children.start(run_id, [*self._command, *arguments], output, run)
        return self.run(run_id)

    def run(self, run_id: str) -> PreprocessRun:
        """A run's state and its log lines so far."""
        child = self._children.get(run_id)
        if child is None:
            raise DataError(f"no preprocessing run {run_id} was started by this control room")
        run = child.record
        lines = read_log(run_log_path(self._store, run_id))
        code = child.exit_code()
        if code is None:
            return PreprocessRun(**{**run.__dict__, "log": lines})
        summary = last_json(child.text())
        if code == 0 and summary is not None and "error" not in summary:
            return PreprocessRun(**{**run.__dict__, "state": "COMPLETED", "result": summary, "log": lines})
        error = (summary or {}).get("error") or next(
            (line["message"] for line in reversed(lines) if line.get("level") == "ERROR"), None
        )
        return PreprocessRun(
            **{
                **run.__dict__,
                "state": "FAILED",
                "error": error or f"the run exited with code {code}",
                "log": lines,
            }
        )

    def wait(self, run_id: str, timeout: float) -> PreprocessRun:
        """Wait for a run to end (tests and scripts)."""
        self._children.wait(run_id, timeout)
        return self.run(run_id)
