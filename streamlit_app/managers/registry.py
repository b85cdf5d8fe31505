"""The MLflow side: registered versions, aliases, promotion, rollback, experiments, runs and their artifacts."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from managers.base import ServiceStatus, probe_http, unavailable
from managers.guard import Guard
from rakuten_mlops import tracking
from rakuten_mlops.auth.roles import Principal
from rakuten_mlops.errors import RegistryError
from rakuten_mlops.registry import Registry, VersionInfo

CONFUSION_ARTIFACT = "evaluation/confusion_matrix.csv"
REPORT_ARTIFACT = "evaluation/classification_report.csv"
LEADERBOARD_ARTIFACT = "search/leaderboard.json"  # written by rakuten_mlops.training.search.leaderboard
# Each candidate of a model search is a nested run; the runs table lists the training runs themselves.
TOP_LEVEL_RUNS = "tags.`mlflow.parentRunId` IS NULL"


@dataclass(frozen=True)
class ExperimentInfo:
    """One MLflow experiment."""

    experiment_id: str
    name: str


class RegistryManager:
    """Every MLflow call of the control room, over an injected registry and its client."""

    def __init__(
        self,
        registry: Registry,
        client: MlflowClient,
        tracking_uri: str,
        http: httpx.Client,
        guard: Guard | None = None,
    ) -> None:
        self._guard_changes = guard or Guard()
        self._registry = registry
        self._client = client
        self.tracking_uri = tracking_uri
        self._http = http

    @classmethod
    def from_uri(
        cls, tracking_uri: str, model_name: str, http: httpx.Client, guard: Guard | None = None
    ) -> RegistryManager:
        """A manager on a tracking URI (SQLite file, PostgreSQL or an MLflow server)."""
        client = tracking.client(tracking_uri, check=False)  # a store that is down fails the first call
        return cls(Registry(client, model_name), client, tracking_uri, http, guard)

    @property
    def model_name(self) -> str:
        """The registered model's name."""
        return self._registry.name

    @property
    def remote(self) -> bool:
        """Whether the store is an MLflow server (reached over HTTP)."""
        return self.tracking_uri.startswith(("http://", "https://"))

    def status(self) -> ServiceStatus:
        """An MLflow server answers /health; a local store is up when its database opens."""
        if self.remote:
            return probe_http(
                self._http, "MLflow", f"{self.tracking_uri.rstrip('/')}/health", ui_url=self.tracking_uri
            )
        try:
            self._client.search_experiments(max_results=1)
        except Exception as exc:  # a local store fails with SQLAlchemy or MLflow errors alike
            return ServiceStatus(
                "MLflow", False, f"local store {self.tracking_uri} unusable: {exc}", self.tracking_uri
            )
        return ServiceStatus("MLflow", True, "local store (no server)", self.tracking_uri)

    def _guard(self) -> None:
        """Fail fast when a remote server is down: MLflow's own client would retry for minutes."""
        if self.remote and not self.status().up:
            raise unavailable("the MLflow server", self.tracking_uri, ConnectionError("no answer on /health"))

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self._guard()
        try:
            return fn(*args, **kwargs)
        except MlflowException as exc:
            raise RegistryError(f"{what} failed on {self.tracking_uri}: {exc.message}") from exc

    def versions(self) -> list[VersionInfo]:
        """Every version, newest first, with aliases, gate tags and test metrics."""
        self._guard()
        return list(self._registry.versions())

    def champion(self) -> VersionInfo | None:
        """The champion version with its metrics, or None before the first promotion."""
        return next((v for v in self.versions() if "champion" in v.aliases), None)

    def run_url(self, run_id: str | None) -> str | None:
        """The MLflow UI page of a run, when the store is an MLflow server (a local store has no UI)."""
        if not self.remote or not run_id:
            return None
        try:
            experiment = self._client.get_run(run_id).info.experiment_id
        except MlflowException:
            return None
        return f"{self.tracking_uri.rstrip('/')}/#/experiments/{experiment}/runs/{run_id}"

    def gate_table(self, versions: list[VersionInfo]) -> pd.DataFrame:
        """Each version with its own test score and the gate's side-by-side scores on the same rows."""
        rows = []
        for v in versions:
            tags = v.tags
            low, high = _number(tags.get("gate.difference_low")), _number(tags.get("gate.difference_high"))
            champion = tags.get("gate.champion_version") or None
            rows.append(
                {
                    "version": v.version,
                    "aliases": ", ".join(v.aliases),
                    "own test F1": v.metrics.get("weighted_f1"),
                    "gate": tags.get("gate.decision", ""),
                    "challenger F1 (gate)": _number(tags.get("gate.challenger_weighted_f1")),
                    "against": f"v{champion}" if champion else "",
                    "champion F1 (gate)": _number(tags.get("gate.champion_weighted_f1")),
                    "difference": _number(tags.get("gate.difference")),
                    "interval": "" if low is None or high is None else f"[{low:+.4f}, {high:+.4f}]",
                    "p-value": _number(tags.get("gate.p_value")),
                    "reason": tags.get("gate.reason", ""),
                    "created": v.created_at,
                    "run": self.run_url(v.run_id) or v.run_id,
                }
            )
        return pd.DataFrame(rows)

    def rollback_target(self) -> str | None:
        """The version a rollback would bring back, or None when there is nothing to roll back to."""
        self._guard()
        return self._registry.rollback_target()

    def history(self) -> list[dict[str, Any]]:
        """Champion events, oldest first (promote, manual, rollback)."""
        self._guard()
        return self._registry.history()

    def promote(self, version: str, reason: str, *, actor: Principal) -> str:
        """Make a version the champion by hand (admin); return it."""

        def work() -> str:
            self._guard()
            self._registry.promote(version, reason, action="manual")
            return str(version)

        return self._guard_changes.run(actor, "promote", {"version": version, "reason": reason}, work)

    def rollback(self, reason: str, *, actor: Principal) -> str:
        """Give the champion alias back to the previous champion (admin); return that version."""

        def work() -> str:
            self._guard()
            return self._registry.rollback(reason)

        return self._guard_changes.run(actor, "rollback", {"reason": reason}, work)

    def download_zip(self, version: str) -> bytes:
        """A version's model folder as a zip archive."""
        self._guard()
        with tempfile.TemporaryDirectory(prefix="rakuten-download-") as tmp:
            folder = self._registry.download(version, Path(tmp) / "model")
            archive = shutil.make_archive(str(Path(tmp) / "archive"), "zip", folder)
            return Path(archive).read_bytes()

    def experiments(self) -> list[ExperimentInfo]:
        """Experiments that are not deleted."""
        found = self._call("listing experiments", self._client.search_experiments)
        return [ExperimentInfo(str(e.experiment_id), e.name) for e in found]

    def training_experiment(self) -> ExperimentInfo | None:
        """The training pipeline's experiment (drift checks log to their own, shown on Monitoring)."""
        found = self._call(
            "reading the training experiment",
            self._client.get_experiment_by_name,
            tracking.TRAINING_EXPERIMENT,
        )
        return None if found is None else ExperimentInfo(str(found.experiment_id), found.name)

    def runs(self, experiment_ids: list[str], limit: int = 100) -> pd.DataFrame:
        """Runs newest first: run_id, name, status, start, trainer, and every metric as a column."""
        if not experiment_ids:
            return pd.DataFrame()
        found = self._call(
            "listing runs",
            self._client.search_runs,
            experiment_ids,
            filter_string=TOP_LEVEL_RUNS,
            max_results=limit,
            order_by=["start_time DESC"],
        )
        rows = [
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "status": run.info.status,
                "started": pd.to_datetime(run.info.start_time, unit="ms", utc=True),
                "trainer": run.data.tags.get("trainer", ""),
                "device": run.data.tags.get("device", ""),
                **run.data.metrics,
            }
            for run in found
        ]
        return pd.DataFrame(rows)

    def _artifact_frame(self, run_id: str, path: str, **read: Any) -> pd.DataFrame:
        self._guard()
        with tempfile.TemporaryDirectory(prefix="rakuten-artifact-") as tmp:
            try:
                local = self._client.download_artifacts(run_id, path, tmp)
            except (MlflowException, OSError) as exc:
                raise RegistryError(f"run {run_id} has no readable {path}: {exc}") from exc
            return pd.read_csv(io.StringIO(Path(local).read_text()), **read)

    def confusion(self, run_id: str) -> pd.DataFrame:
        """The run's test confusion matrix: rows true labels, columns predicted labels."""
        frame = self._artifact_frame(run_id, CONFUSION_ARTIFACT, index_col=0, dtype={0: str})
        frame.index = frame.index.astype(str)
        frame.columns = frame.columns.astype(str)
        return frame

    def per_class(self, run_id: str) -> pd.DataFrame:
        """The run's per-class precision, recall, F1 and support on the test split."""
        return self._artifact_frame(run_id, REPORT_ARTIFACT, dtype={"label": str})

    def leaderboard(self, run_id: str) -> pd.DataFrame:
        """The run's model-search candidates, best first (empty for a run trained without a search)."""
        listed = self._call("listing the run's artifacts", self._client.list_artifacts, run_id, "search")
        if not any(f.path == LEADERBOARD_ARTIFACT for f in listed):
            return pd.DataFrame()
        with tempfile.TemporaryDirectory(prefix="rakuten-artifact-") as tmp:
            try:
                local = self._client.download_artifacts(run_id, LEADERBOARD_ARTIFACT, tmp)
                rows = json.loads(Path(local).read_text(encoding="utf-8"))
            except (MlflowException, OSError, ValueError) as exc:
                raise RegistryError(f"run {run_id} has no readable {LEADERBOARD_ARTIFACT}: {exc}") from exc
        frame = pd.DataFrame(rows)
        frame["rank"] = range(1, len(frame) + 1)
        return frame


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def zip_names(data: bytes) -> list[str]:
    """The file names inside a zip archive (to check a download)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()
