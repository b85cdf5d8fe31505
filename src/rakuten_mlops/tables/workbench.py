"""The workbench's operations on stored datasets, shared by the CLI, the API, the control room and the flow.

Profiles are cached on disk by content hash and target (`MLOPS_HOME/datasets/profiles`): a version
never changes, so its profile is computed once, whoever asks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.models import ProfileWarning, TableProfile
from rakuten_mlops.tables.pipeline import choose_steps, preprocess_frame
from rakuten_mlops.tables.plan import Step
from rakuten_mlops.tables.records import PreprocessResult
from rakuten_mlops.tables.runlog import RunLog
from rakuten_mlops.tables.store import DatasetStore

PROFILE_FORMAT = 2  # bump when the profile's content changes: cached profiles are then recomputed


class Suggestions(BaseModel):
    """The suggested steps for one version and target, with the profile's warnings."""

    name: str
    version: int
    target: str
    steps: list[Step]
    warnings: list[ProfileWarning] = Field(default_factory=list)


def _cache_path(store: DatasetStore, digest: str, target: str | None, kind: str = "profile") -> Path:
    key = "guess" if target is None else hashlib.sha1(target.encode("utf-8")).hexdigest()[:16]
    return store.root / "profiles" / digest / f"{kind}-v{PROFILE_FORMAT}-{key}.json"


def profile_dataset(
    store: DatasetStore, name: str, target: str | None = None, version: int | None = None
) -> TableProfile:
    """The profile of a stored version (the newest by default), from the cache when it was computed before."""
    from rakuten_mlops.tables.profiling import profile_frame

    detail = store.show(name, version)
    cached = _cache_path(store, detail.hash, target)
    if cached.exists():  # keyed by content: another dataset with the same bytes shares it, so rename it
        try:
            found = TableProfile.model_validate_json(cached.read_text(encoding="utf-8"))
            return found.model_copy(update={"name": name, "version": detail.version})
        except ValueError:
            pass  # written by an older version or cut short: compute it again
    profile = profile_frame(store.load_frame(name, detail.version), target, name=name, version=detail.version)
    _write(cached, profile.model_dump_json())
    return profile


def suggest_for_dataset(
    store: DatasetStore, name: str, target: str, version: int | None = None
) -> Suggestions:
    """The suggested steps for a stored version, each with its preview (cached like profiles)."""
    from rakuten_mlops.tables.suggestions import suggest

    profile = profile_dataset(store, name, target, version)
    assert profile.version is not None
    detail = store.show(name, profile.version)
    cached = _cache_path(store, detail.hash, target, "suggestions")
    if cached.exists():
        try:
            found = Suggestions.model_validate_json(cached.read_text(encoding="utf-8"))
            return found.model_copy(update={"name": name, "version": profile.version})
        except ValueError:
            pass
    steps = suggest(store.load_frame(name, profile.version), profile)
    found = Suggestions(
        name=name, version=profile.version, target=target, steps=steps, warnings=profile.warnings
    )
    _write(cached, found.model_dump_json())
    return found


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def preprocess_dataset(
    store: DatasetStore,
    name: str,
    target: str,
    step_ids: list[str] | None,
    log: RunLog,
    *,
    version: int | None = None,
    run_id: str | None = None,
) -> PreprocessResult:
    """Run the chosen suggested steps (all when `step_ids` is None) and store the result as a new version."""
    from rakuten_mlops.tables.suggestions import suggest_steps

    detail = store.show(name, version)
    frame = store.load_frame(name, detail.version)
    if target not in frame.columns:
        raise DataError(
            f"dataset {name!r} version {detail.version} has no column {target!r}; columns: {', '.join(map(str, frame.columns))}"
        )
    profile = profile_dataset(store, name, target, detail.version)
    steps = choose_steps(suggest_steps(profile), step_ids)
    if not steps:
        raise DataError(
            f"no step to run on {name!r} version {detail.version}: choose at least one suggested step"
        )
    log.info(
        f"dataset {name!r} version {detail.version}: {len(frame):,} rows, target `{target}`",
        dataset=name,
        version=detail.version,
    )
    done = preprocess_frame(frame, target, steps, log)
    log_path = (
        str(log.path.relative_to(store.root))
        if log.path is not None and log.path.is_relative_to(store.root)
        else None
    )
    lineage: dict[str, Any] = {
        "steps": [s.model_dump(mode="json", exclude={"preview"}) for s in done.steps],
        "parameters": {"target": target, "steps": [s.id for s in done.steps], "parent_hash": detail.hash},
        "run_id": run_id,
        "log": log_path,
    }
    stored = store.add_version(name, detail.version, done.frame, lineage, done.pipeline)
    log.info(
        f"stored version {stored.version} of {name!r} ({stored.rows:,} rows, {stored.columns} columns)",
        version=stored.version,
        parent_version=detail.version,
    )
    assert stored.lineage is not None and stored.lineage.pipeline is not None
    return PreprocessResult(
        name=name,
        version=stored.version,
        parent_version=detail.version,
        run_id=run_id,
        rows=stored.rows,
        columns=stored.columns,
        steps=[s.id for s in done.steps],
        class_weights=done.class_weights,
        pipeline=str(store.path(stored.lineage.pipeline)),
        log=str(log.path) if log.path is not None else "",
    )


def check_step_ids(
    store: DatasetStore, name: str, target: str, step_ids: list[str] | None, version: int | None = None
) -> list[Step]:
    """The steps these ids name among the suggestions for a version, or a DataError listing the ids there are."""
    from rakuten_mlops.tables.suggestions import suggest_steps

    return choose_steps(suggest_steps(profile_dataset(store, name, target, version)), step_ids)


REPORT_ROWS = 5_000  # skrub's report draws every column: a sample keeps it to seconds on any table


def table_report_html(store: DatasetStore, name: str, version: int | None = None) -> str:
    """skrub's interactive table report of a version (on a sample of big tables), as one HTML page."""
    import skrub

    detail = store.show(name, version)
    frame = store.load_frame(name, detail.version)
    sampled = len(frame) > REPORT_ROWS
    if sampled:
        frame = frame.sample(REPORT_ROWS, random_state=0).sort_index()
    title = f"{name} v{detail.version}" + (
        f" (a sample of {REPORT_ROWS:,} of {detail.rows:,} rows)" if sampled else ""
    )
    html: str = skrub.TableReport(frame, title=title, verbose=0).html()
    return html


def run_log_path(store: DatasetStore, log_id: str) -> Path:
    """Where the log of the run known by `log_id` is written (letters, digits, '-' and '_' only)."""
    if not log_id or not all(c.isalnum() or c in "-_" for c in log_id) or len(log_id) > 64:
        raise DataError(f"{log_id!r} is not a usable log id: letters, digits, '-' and '_' only, at most 64")
    return store.root / "logs" / f"{log_id}.jsonl"


def version_log(store: DatasetStore, name: str, version: int | None = None) -> list[dict[str, Any]]:
    """The structured log lines of the run that produced a preprocessed version."""
    from rakuten_mlops.tables.runlog import read_log

    detail = store.show(name, version)
    if detail.lineage is None or not detail.lineage.log:
        raise DataError(
            f"version {detail.version} of {name!r} was uploaded, not preprocessed: it has no run log"
        )
    return read_log(store.path(detail.lineage.log))
