"""Every MLflow registry call of the project: register, alias, gate, promote, roll back, history.

Aliases only, never stages: "challenger" marks the newest candidate and "champion" the
model in service. Each gate decision and its reason are written as tags on the version.
The champion history is an append-only list of events kept as a tag of the registered
model; replaying it as a stack (promote pushes, rollback pops) gives the champion and what
a rollback returns to.

Moving the alias and recording the history are two calls, either of which can fail. So the
event is written first as an intent tag, then the alias moves, then the event joins the history
and the intent goes. Whatever stopped half-way is settled by the next call that reads the
history: an intent whose alias moved is completed, one whose alias did not move is dropped.
Champion and history always agree again after one call.

Errors: MLflow's "not found" answers mean absent (`None`, `False`, `[]`); anything else (an
unreachable or failing tracking server) is a RegistryError naming the tracking URI.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from rakuten_mlops import tracking
from rakuten_mlops.errors import ModelError, RegistryError

if TYPE_CHECKING:
    from rakuten_mlops.gate import PairedComparison
    from rakuten_mlops.training.model import TextClassifierModel

CHAMPION = "champion"
CHALLENGER = "challenger"
HISTORY_TAG = "champion_history"
INTENT_TAG = "champion_intent"  # a champion change under way (see the module docstring)
REASON_CHARS = 500  # a reason longer than this is cut: the history tag must stay under MLflow's limit
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
    comparison: PairedComparison | None = None  # the paired test on the same rows, when one ran
    metric: str = "weighted_f1"  # what the scores are (an AutoML task gates on its own metric)


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
    comparison: PairedComparison | None = None,
) -> GateDecision:
    """Promote only a real improvement; the first model promotes.

    With a paired comparison on the same test rows, the challenger must beat the champion by more than
    `min_improvement` at the comparison's confidence (its one-sided interval's lower bound above the
    margin). Without one, its weighted F1 must exceed the champion's + `min_improvement`. A tie never
    promotes: an identical retrain would otherwise replace the champion each time.
    """
    if champion_version is None or champion_score is None:
        return GateDecision(
            True,
            "no champion yet: the first model is promoted",
            challenger_version,
            challenger_score,
            None,
            None,
            min_improvement,
            comparison,
        )
    scores = (
        f"challenger v{challenger_version} weighted F1 {challenger_score:.4f}, champion "
        f"v{champion_version} {champion_score:.4f} on the same test split"
    )
    if comparison is not None:
        promote = comparison.beats(min_improvement)
        level = f"{comparison.confidence:.0%}"
        verdict = "better" if promote else "not shown better"
        reason = (
            f"{scores}: difference {comparison.difference:+.4f}, at least {comparison.low:+.4f} at {level} "
            f"confidence (p={comparison.p_value:.3f}, {comparison.rows} rows); {verdict} than the champion "
            f"by more than {min_improvement:.4f}"
        )
    else:
        promote = challenger_score > champion_score + min_improvement
        verdict = "is above" if promote else "is not above"
        reason = f"{scores}: the challenger {verdict} the champion + {min_improvement:.4f}"
    return GateDecision(
        promote,
        reason,
        challenger_version,
        challenger_score,
        champion_version,
        champion_score,
        min_improvement,
        comparison,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def is_absent(exc: MlflowException) -> bool:
    """Whether MLflow answered that what was asked for does not exist (rather than failing to answer)."""
    if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
        return True
    return exc.error_code == "INVALID_PARAMETER_VALUE" and "not found" in exc.message.lower()


def failure_reason(exc: MlflowException) -> str:
    """MLflow's error in a few words: the cause of a failed HTTP call, or the first line of the message."""
    message = exc.message.strip()
    lowered = message.lower()
    if "connection refused" in lowered or "failed to establish a new connection" in lowered:
        return "connection refused"
    if "timed out" in lowered or "timeout" in lowered:
        return "no answer in time"
    if "max retries exceeded" in lowered:
        return "the server did not answer"
    first = message.splitlines()[0] if message else exc.error_code
    return first if len(first) <= 300 else first[:300] + "…"


class Registry:
    """The registered model `name` in the MLflow registry reached by `client`."""

    def __init__(self, client: MlflowClient, name: str) -> None:
        self._client = client
        self.name = name
        self.tracking_uri: str = client.tracking_uri
        self.uri = tracking.display_uri(self.tracking_uri)  # for messages: no password

    @classmethod
    def from_uri(cls, tracking_uri: str, name: str, *, check: bool = True) -> Registry:
        """A registry on a tracking URI (SQLite file, PostgreSQL or an MLflow server), with bounded waits.

        `check=False` defers the reachability check to the first call (the API starts while MLflow is down).
        """
        return cls(tracking.client(tracking_uri, check=check), name)

    def _error(self, what: str, exc: MlflowException) -> RegistryError:
        return RegistryError(
            f"the MLflow registry at {self.uri} failed while {what} for model {self.name!r}: "
            f"{failure_reason(exc)}"
        )

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MlflowException as exc:
            raise self._error(what, exc) from exc

    def _find(self, what: str, fn: Any, *args: Any) -> Any:
        """Like _call, but None when MLflow answers that the thing does not exist."""
        try:
            return fn(*args)
        except MlflowException as exc:
            if is_absent(exc):
                return None
            raise self._error(what, exc) from exc

    # ------------------------------------------------------------ reading

    def exists(self) -> bool:
        """Whether the registered model exists yet; RegistryError when the registry does not answer."""
        return self._model() is not None

    def _model(self) -> Any:
        return self._find("reading the registered model", self._client.get_registered_model, self.name)

    def model_tags(self) -> dict[str, str]:
        """The registered model's own tags (what an AutoML task predicts, from what); {} before it exists."""
        model = self._model()
        return {} if model is None else dict(model.tags)

    def alias(self, alias: str) -> ModelVersion | None:
        """The version behind an alias, or None when the alias (or the model) does not exist."""
        found: ModelVersion | None = self._find(
            f"reading the {alias} alias", self._client.get_model_version_by_alias, self.name, alias
        )
        return found

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

    def _version(self, version: str) -> ModelVersion:
        """One version; a RegistryError that says so when it does not exist."""
        found: ModelVersion | None = self._find(
            f"reading version {version}", self._client.get_model_version, self.name, str(version)
        )
        if found is None:
            raise RegistryError(f"model {self.name!r} has no version {version} in the registry at {self.uri}")
        return found

    def version_info(self, version: str) -> VersionInfo:
        """One version with its aliases, tags and its run's metrics."""
        return self._info(self._version(version), self._aliases())

    def _aliases(self) -> dict[str, list[str]]:
        aliases: dict[str, list[str]] = {}
        model = self._model()
        for alias, version in (model.aliases if model is not None else {}).items():
            aliases.setdefault(str(version), []).append(alias)
        return aliases

    def _info(self, v: ModelVersion, aliases: dict[str, list[str]]) -> VersionInfo:
        run = (
            self._find(f"reading the run of version {v.version}", self._client.get_run, v.run_id)
            if v.run_id
            else None
        )
        metrics = run.data.metrics if run is not None else {}
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
        """Champion events, oldest first: version, action, at, reason, previous (settling a change cut short)."""
        model = self._model()
        if model is None:
            return []
        tags = dict(model.tags)
        events = list(json.loads(tags[HISTORY_TAG])) if tags.get(HISTORY_TAG) else []
        if INTENT_TAG in tags:
            events = self._settle(json.loads(tags[INTENT_TAG]), events)
        return events

    def _settle(self, intent: dict[str, Any], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Finish a champion change whose alias moved, or forget one whose alias did not; the history."""
        champion = self.champion()
        moved = champion is not None and str(champion.version) == intent["version"]
        if moved and (not events or events[-1] != intent):
            events = self._write_history([*events, intent])
        self._call(
            "clearing the champion intent", self._client.delete_registered_model_tag, self.name, INTENT_TAG
        )
        return events

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

    def tag_model(self, tags: dict[str, str]) -> None:
        """Set tags on the registered model (created first when it does not exist yet)."""
        if not self.exists():
            self._call("creating the registered model", self._client.create_registered_model, self.name)
        for key, value in tags.items():
            self._call("tagging the model", self._client.set_registered_model_tag, self.name, key, value)

    def record_decision(self, decision: GateDecision) -> None:
        """Write the gate's decision and reason as tags on the challenger version."""
        metric = decision.metric
        tags = {
            "gate.decision": "promoted" if decision.promote else "rejected",
            "gate.reason": decision.reason,
            "gate.metric": metric,
            f"gate.challenger_{metric}": f"{decision.challenger_score:.6f}",
            "gate.champion_version": decision.champion_version or "",
            f"gate.champion_{metric}": ""
            if decision.champion_score is None
            else f"{decision.champion_score:.6f}",
            "gate.min_improvement": str(decision.min_improvement),
            "gate.decided_at": _now(),
        }
        if (c := decision.comparison) is not None:
            tags |= {
                "gate.test": f"paired bootstrap of the {metric} difference",
                "gate.confidence": f"{c.confidence:g}",
                "gate.p_value": f"{c.p_value:.4f}",
                "gate.difference": f"{c.difference:.6f}",
                "gate.difference_low": f"{c.low:.6f}",
                "gate.difference_high": f"{c.high:.6f}",
                "gate.rows": str(c.rows),
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

    def apply(self, decision: GateDecision, promote: bool = True) -> GateDecision:
        """Record the gate's decision on the challenger and promote it when it won (and `promote` allows)."""
        if not promote:
            decision = replace(
                decision, promote=False, reason=f"promotion disabled (--no-promote); {decision.reason}"
            )
        self.record_decision(decision)
        if decision.promote:
            self.promote(decision.challenger_version, decision.reason)
        return decision

    def promote(self, version: str, reason: str, action: str = "promote") -> None:
        """Make `version` the champion and record the event (the old champion stays for rollback)."""
        self._version(version)
        events = self.history()  # settles a change an earlier call left half-done
        current = self.champion()
        previous = str(current.version) if current else None
        if previous == str(version):
            return
        self._change(
            events, {"version": str(version), "action": action, "reason": reason, "previous": previous}
        )

    def rollback_target(self) -> str | None:
        """The version a rollback would make champion again, or None when there is none."""
        stack = replay(self.history())
        return stack[-2] if len(stack) >= 2 else None

    def rollback(self, reason: str = "manual rollback") -> str:
        """Give the champion alias back to the champion before the current one; return that version."""
        events = self.history()
        stack = replay(events)
        if len(stack) < 2:
            raise RegistryError(f"model {self.name!r} has no earlier champion to roll back to")
        current, target = stack[-1], stack[-2]
        self._change(events, {"version": target, "action": "rollback", "reason": reason, "previous": current})
        return target

    def _change(self, events: list[dict[str, Any]], change: dict[str, Any]) -> None:
        """Intent, alias, history: in that order, so that a failure at any step can be settled later."""
        event = {**change, "reason": str(change["reason"])[:REASON_CHARS], "at": _now()}
        self._call(
            "recording the champion intent",
            self._client.set_registered_model_tag,
            self.name,
            INTENT_TAG,
            json.dumps(event),
        )
        self._call(
            f"moving the champion alias to v{event['version']}",
            self._client.set_registered_model_alias,
            self.name,
            CHAMPION,
            event["version"],
        )
        try:
            self._write_history([*events, event])
            self._client.delete_registered_model_tag(self.name, INTENT_TAG)
        except (MlflowException, RegistryError) as exc:
            reason = failure_reason(exc) if isinstance(exc, MlflowException) else str(exc)
            raise RegistryError(
                f"v{event['version']} of {self.name!r} is now the champion, but recording it in the history "
                f"at {self.uri} failed ({reason}); the next registry command completes the record"
            ) from exc

    def champion_stack(self) -> list[str]:
        """Replay the history: promotions push a version, rollbacks pop one."""
        return replay(self.history())

    def _write_history(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = events[-HISTORY_KEEP:]
        self._call(
            "recording the history",
            self._client.set_registered_model_tag,
            self.name,
            HISTORY_TAG,
            json.dumps(kept),
        )
        return kept

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
        info = self._version(version)
        if not info.run_id:
            return {}
        return dict(
            self._call(f"reading the run of version {version}", self._client.get_run, info.run_id).data.tags
        )

    def download_run_artifact(self, version: str, artifact_path: str, target: Path) -> Path:
        """Download one artifact of the training run behind a version into target."""
        info = self._version(version)
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


def replay(events: list[dict[str, Any]]) -> list[str]:
    """The champion stack of a history: promotions push a version, rollbacks pop one."""
    stack: list[str] = []
    for event in events:
        if event["action"] == "rollback":
            if stack:
                stack.pop()
        elif not stack or stack[-1] != event["version"]:
            stack.append(event["version"])
    return stack


def native_model_path(model_dir: Path) -> Path:
    """The saved TextClassifierModel inside a downloaded pyfunc folder."""
    found = sorted(model_dir.rglob("model.joblib"))
    if not found:
        raise ModelError(f"{model_dir} holds no model.joblib: not a model logged by this project")
    return found[0]


def registered_names(client: MlflowClient, tag: str, value: str) -> list[str]:
    """The registered models whose tag `tag` is `value`, by name; RegistryError naming the store on failure."""
    try:
        found = client.search_registered_models(filter_string=f"tags.{tag} = '{value}'")
    except MlflowException as exc:
        raise RegistryError(
            f"the MLflow registry at {tracking.display_uri(client.tracking_uri)} failed while listing "
            f"models: {failure_reason(exc)}"
        ) from exc
    return sorted(m.name for m in found)
