"""Every MLflow registry call of the project: register, alias, gate, promote, roll back, history.

Aliases only, never stages: "challenger" marks the newest candidate and "champion" the
model in service. Each gate decision and its reason are written as tags on the version.
The champion history is an append-only list of events kept as a tag of the registered
model; replaying it as a stack (promote pushes, rollback pops) gives the champion and what
a rollback returns to.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from rakuten_mlops.errors import ModelError, RegistryError

if TYPE_CHECKING:
    from rakuten_mlops.training.model import TextClassifierModel

CHAMPION = "champion"
CHALLENGER = "challenger"
HISTORY_TAG = "champion_history"
HISTORY_KEEP = 40  # events kept in the tag (MLflow caps tag values at a few kB)


@dataclass(frozen=True)
class GateDecision:
    """Whether a challenger replaces the champion, and why."""

    promote: bool
    reason: str
    challenger_version: str
    challenger_score: float
    champion_version: str | None
    champion_score: float | None
    min_improvement: float


@dataclass(frozen=True)
class VersionInfo:
    """One registered version as the CLI and the control room show it."""

    version: str
    aliases: list[str]
    run_id: str | None
    created_at: str
    tags: dict[str, str]
    metrics: dict[str, float]


def decide(
    challenger_version: str,
    challenger_score: float,
    champion_version: str | None,
    champion_score: float | None,
    min_improvement: float,
) -> GateDecision:
    """Promote only if the challenger's weighted F1 >= champion's + min_improvement; the first model promotes."""
    if champion_version is None or champion_score is None:
        return GateDecision(
            True,
            "no champion yet: the first model is promoted",
            challenger_version,
            challenger_score,
            None,
            None,
            min_improvement,
        )
    needed = champion_score + min_improvement
    promote = challenger_score >= needed
    verdict = "is at least" if promote else "is below"
    reason = (
        f"challenger v{challenger_version} weighted F1 {challenger_score:.4f} {verdict} champion "
        f"v{champion_version}'s {champion_score:.4f} + {min_improvement:.4f} on the same test split"
    )
    return GateDecision(
        promote,
        reason,
        challenger_version,
        challenger_score,
        champion_version,
        champion_score,
        min_improvement,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Registry:
    """The registered model `name` in the MLflow registry reached by `client`."""

    def __init__(self, client: MlflowClient, name: str) -> None:
        self._client = client
        self.name = name

    @classmethod
    def from_uri(cls, tracking_uri: str, name: str) -> Registry:
        """A registry on a tracking URI (SQLite file, PostgreSQL or an MLflow server)."""
        return cls(MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri), name)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MlflowException as exc:
            raise RegistryError(f"{what} failed for model {self.name!r}: {exc.message}") from exc

    # ------------------------------------------------------------ reading

    def exists(self) -> bool:
        """Whether the registered model exists yet."""
        try:
            self._client.get_registered_model(self.name)
            return True
        except MlflowException:
            return False

    def alias(self, alias: str) -> ModelVersion | None:
        """The version behind an alias, or None."""
        try:
            return self._client.get_model_version_by_alias(self.name, alias)
        except MlflowException:
            return None

    def champion(self) -> ModelVersion | None:
        """The version in service, or None before the first promotion."""
        return self.alias(CHAMPION)

    def versions(self) -> list[VersionInfo]:
        """Every version, newest first, with aliases, tags and its run's metrics."""
        if not self.exists():
            return []
        aliases = self._aliases()
        found = self._call("listing versions", self._client.search_model_versions, f"name='{self.name}'")
        return [self._info(v, aliases) for v in sorted(found, key=lambda m: int(m.version), reverse=True)]

    def newest_version(self) -> str | None:
        """The highest registered version number, None before the first (no run is read)."""
        if not self.exists():
            return None
        found = self._call("listing versions", self._client.search_model_versions, f"name='{self.name}'")
        return str(max(int(v.version) for v in found)) if found else None

    def version_info(self, version: str) -> VersionInfo:
        """One version with its aliases, tags and its run's metrics."""
        found = self._call(f"reading version {version}", self._client.get_model_version, self.name, version)
        return self._info(found, self._aliases())

    def _aliases(self) -> dict[str, list[str]]:
        aliases: dict[str, list[str]] = {}
        for alias, version in self._client.get_registered_model(self.name).aliases.items():
            aliases.setdefault(str(version), []).append(alias)
        return aliases

    def _info(self, v: ModelVersion, aliases: dict[str, list[str]]) -> VersionInfo:
        metrics = self._client.get_run(v.run_id).data.metrics if v.run_id else {}
        created = datetime.fromtimestamp(v.creation_timestamp / 1000, UTC).isoformat(timespec="seconds")
        return VersionInfo(
            str(v.version),
            sorted(aliases.get(str(v.version), [])),
            v.run_id,
            created,
            dict(v.tags),
            dict(metrics),
        )

    def history(self) -> list[dict[str, Any]]:
        """Champion events, oldest first: version, action, at, reason, previous."""
        if not self.exists():
            return []
        raw = self._client.get_registered_model(self.name).tags.get(HISTORY_TAG)
        return list(json.loads(raw)) if raw else []

    # ------------------------------------------------------------ writing

    def register(
        self, model_uri: str, run_id: str, model_id: str | None = None, tags: dict[str, str] | None = None
    ) -> ModelVersion:
        """Register a logged model (`models:/m-...`) as a new version and mark it challenger."""
        if not self.exists():
            self._call("creating the registered model", self._client.create_registered_model, self.name)
        version = self._call(
            "registering a version",
            self._client.create_model_version,
            self.name,
            model_uri,
            run_id,
            tags=tags or {},
            model_id=model_id,
        )
        self._call(
            "setting the challenger alias",
            self._client.set_registered_model_alias,
            self.name,
            CHALLENGER,
            version.version,
        )
        return version  # type: ignore[no-any-return]  # _call forwards MLflow's untyped result

    def record_decision(self, decision: GateDecision) -> None:
        """Write the gate's decision and reason as tags on the challenger version."""
        tags = {
            "gate.decision": "promoted" if decision.promote else "rejected",
            "gate.reason": decision.reason,
            "gate.challenger_weighted_f1": f"{decision.challenger_score:.6f}",
            "gate.champion_version": decision.champion_version or "",
            "gate.champion_weighted_f1": ""
            if decision.champion_score is None
            else f"{decision.champion_score:.6f}",
            "gate.min_improvement": str(decision.min_improvement),
            "gate.decided_at": _now(),
        }
        for key, value in tags.items():
            self._call(
                "tagging the version",
                self._client.set_model_version_tag,
                self.name,
                decision.challenger_version,
                key,
                value,
            )

    def promote(self, version: str, reason: str, action: str = "promote") -> None:
        """Make `version` the champion and record the event (the old champion stays for rollback)."""
        self._call("reading the version", self._client.get_model_version, self.name, str(version))
        current = self.champion()
        previous = str(current.version) if current else None
        if previous == str(version):
            return
        self._call(
            "moving the champion alias",
            self._client.set_registered_model_alias,
            self.name,
            CHAMPION,
            str(version),
        )
        self._append(
            {"version": str(version), "action": action, "at": _now(), "reason": reason, "previous": previous}
        )

    def rollback(self, reason: str = "manual rollback") -> str:
        """Give the champion alias back to the champion before the current one; return that version."""
        stack = self.champion_stack()
        if len(stack) < 2:
            raise RegistryError(f"model {self.name!r} has no earlier champion to roll back to")
        current, target = stack[-1], stack[-2]
        self._call(
            "moving the champion alias", self._client.set_registered_model_alias, self.name, CHAMPION, target
        )
        self._append(
            {"version": target, "action": "rollback", "at": _now(), "reason": reason, "previous": current}
        )
        return target

    def champion_stack(self) -> list[str]:
        """Replay the history: promotions push a version, rollbacks pop one."""
        stack: list[str] = []
        for event in self.history():
            if event["action"] == "rollback":
                if stack:
                    stack.pop()
            elif not stack or stack[-1] != event["version"]:
                stack.append(event["version"])
        return stack

    def _append(self, event: dict[str, Any]) -> None:
        events = [*self.history(), event][-HISTORY_KEEP:]
        self._call(
            "recording the history",
            self._client.set_registered_model_tag,
            self.name,
            HISTORY_TAG,
            json.dumps(events),
        )

    # ------------------------------------------------------------ models

    def download(self, version: str, target: Path) -> Path:
        """Download a version's model folder (MLmodel, artifacts, code) into target."""
        target.mkdir(parents=True, exist_ok=True)
        try:
            # Resolve the storage location through this client: a models:/ URI would be resolved
            # through MLflow's process-wide registry URI, which a server process never sets.
            location = self._client.get_model_version_download_uri(self.name, version)
            path = download_artifacts(
                artifact_uri=location,
                dst_path=str(target),
                tracking_uri=self._client._tracking_client.tracking_uri,
            )
        except MlflowException as exc:
            raise ModelError(f"cannot download version {version} of {self.name!r}: {exc.message}") from exc
        return Path(path)

    def run_tags(self, version: str) -> dict[str, str]:
        """Tags of the training run behind a version (rows per split, trainer, ingestion batches)."""
        info = self._call(f"reading version {version}", self._client.get_model_version, self.name, version)
        if not info.run_id:
            return {}
        return dict(
            self._call(f"reading the run of version {version}", self._client.get_run, info.run_id).data.tags
        )

    def download_run_artifact(self, version: str, artifact_path: str, target: Path) -> Path:
        """Download one artifact of the training run behind a version into target."""
        info = self._call(f"reading version {version}", self._client.get_model_version, self.name, version)
        if not info.run_id:
            raise ModelError(f"version {version} of {self.name!r} has no MLflow run, so no {artifact_path}")
        try:
            return Path(self._client.download_artifacts(info.run_id, artifact_path, str(target)))
        except (MlflowException, OSError) as exc:
            raise ModelError(
                f"version {version} of {self.name!r} (run {info.run_id}) has no readable {artifact_path} "
                f"artifact at {self._client.tracking_uri}: {exc}"
            ) from exc

    def load_model(self, version: str) -> TextClassifierModel:
        """Load a version as the native model (no pyfunc, no DataFrame per call)."""
        from rakuten_mlops.training.model import TextClassifierModel

        with tempfile.TemporaryDirectory(prefix="rakuten-model-") as tmp:
            return TextClassifierModel.load(native_model_path(self.download(version, Path(tmp))))

    def load_champion(self) -> tuple[str, TextClassifierModel]:
        """The champion's version and native model; a clear error before the first promotion."""
        champion = self.champion()
        if champion is None:
            raise ModelError(
                f"model {self.name!r} has no champion yet; train one first (rakuten-mlops train)"
            )
        return str(champion.version), self.load_model(str(champion.version))


def native_model_path(model_dir: Path) -> Path:
    """The saved TextClassifierModel inside a downloaded pyfunc folder."""
    found = sorted(model_dir.rglob("model.joblib"))
    if not found:
        raise ModelError(f"{model_dir} holds no model.joblib: not a model logged by this project")
    return found[0]
