"""Build an app from its profile: the platform objects that train, serve and watch it.

`build_app` turns a checked `AppProfile` and a dataset of the workbench into:

1. a **dataset expectation** (the target column, its kind, the columns and rows the app needs),
   checked now against the dataset and again before every scheduled run (`check_expectation`);
2. an **AutoML task** read from the dataset (features, what is left out and why, the metric);
3. a **retraining schedule** on the `automl/on-demand` deployment (a named schedule whose runs get
   the app's dataset and target) and a **drift check** on `monitor-and-retrain/daily`'s flow, plus
   a first run started now, when a Prefect server is configured;
4. its **monitoring threshold**, used by every drift check of the app's model;
5. a **Dockerfile and a compose service** serving the app's champion, built and started through the
   Docker SDK when an engine answers, with the build's log passed on line by line.

Nothing is written when the expectation or the task cannot be met (the error names the column). A
step that cannot run here (no Prefect server, no Docker engine) is `skipped` with the reason and
the command that does the same natively. The app's record is `MLOPS_HOME/apps/NAME/app.json`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import Engine

from rakuten_mlops.apps.profile import AppProfile
from rakuten_mlops.apps.records import (
    MIN_ROWS,
    BuildStep,
    BuiltApp,
    Expectation,
    app_dir,
    check_expectation,
)
from rakuten_mlops.assistant import slots
from rakuten_mlops.config import Settings
from rakuten_mlops.errors import DataError, MlopsError

if TYPE_CHECKING:
    from rakuten_mlops.runs.service import Runs

BASE_IMAGE = "rakuten-mlops/api:latest"  # the stack's image (docker-compose.api.yml builds it)
SERVE_PORT = 8080
NUMERIC_TASKS = {"regression", "forecasting"}
LOG_TAIL = 50  # container log lines kept in the record


def match_target(profile: AppProfile, columns: list[str]) -> str | None:
    """The column the profile's target names, if one does: "network load" -> `network_load` (or `load`),
    "churn" -> `churned` (a word and its inflections: one starts with the other, four letters at least)."""

    def words(text: str) -> set[str]:
        return set(re.findall(r"[a-z0-9]+", slots.fold(text))) - {"the", "of", "a", "le", "la", "de", "du"}

    def same(a: str, b: str) -> bool:
        return a == b or (min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)))

    wanted = words(profile.target)
    best: tuple[float, str] | None = None
    for column in columns:
        have = words(column)
        if not have or not wanted:
            continue
        if have == wanted:
            return column
        matched = sum(any(same(w, h) for h in have) for w in wanted)
        score = matched / len(wanted | have)
        if matched and (best is None or score > best[0]):
            best = (score, column)
    return best[1] if best is not None else None


def dockerfile(app: BuiltApp) -> str:
    """An image that serves the app's champion with `mlflow models serve`, on the stack's image."""
    return (
        f"# The {app.profile.name} app: {app.profile.intent}\n"
        f"# Serves the champion of {app.model!r} (retrained by the automl/on-demand deployment).\n"
        f"ARG BASE_IMAGE={BASE_IMAGE}\n"
        "FROM ${BASE_IMAGE}\n"
        f"ENV APP_NAME={app.profile.name} APP_MODEL={app.model}\n"
        f"EXPOSE {SERVE_PORT}\n"
        'CMD ["sh", "-c", "exec mlflow models serve --env-manager local --host 0.0.0.0 '
        f'--port {SERVE_PORT} -m models:/$APP_MODEL@champion"]\n'
    )


def compose(app: BuiltApp) -> dict[str, Any]:
    """The app's compose service, on the stack's network beside the MLflow it reads the model from."""
    resources = app.profile.resources
    deploy: dict[str, Any] = {
        "resources": {"limits": {"cpus": str(resources.cpu), "memory": f"{int(resources.memory_gb * 1024)}M"}}
    }
    if resources.gpu:
        deploy["resources"]["reservations"] = {
            "devices": [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
        }
    service = {
        "build": {"context": "."},
        "image": f"rakuten-mlops-app/{app.profile.name}:latest",
        "restart": "unless-stopped",
        "environment": {"MLFLOW_TRACKING_URI": "${MLFLOW_TRACKING_URI:-http://mlflow:5000}"},
        "ports": [f"${{BIND_ADDRESS:-127.0.0.1}}:${{APP_PORT:-{SERVE_PORT}}}:{SERVE_PORT}"],
        "deploy": deploy,
        "networks": ["rakuten"],
    }
    return {
        "services": {f"app-{app.profile.name}": service},
        "networks": {"rakuten": {"name": "rakuten-mlops", "external": True}},
    }


def _write(path: Path, text: str) -> None:
    staging = path.with_suffix(path.suffix + ".tmp")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)


def save(settings: Settings, app: BuiltApp) -> Path:
    folder = app_dir(settings, app.profile.name)
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "app.json", app.model_dump_json(indent=2))
    return folder


def _native_automl(app: BuiltApp) -> str:
    return f"rakuten-mlops automl {app.dataset} --target {app.target} --budget-minutes {app.budget_minutes:g} --yes"


def _schedule(app: BuiltApp, runs: Runs | None, start_now: bool, who: str) -> list[BuildStep]:
    from rakuten_mlops.runs.catalog import AUTOML, MONITORING
    from rakuten_mlops.runs.schedules import Schedules

    if runs is None:
        reason = (
            "no Prefect server is configured (PREFECT_API_URL, or a stack started with `rakuten-mlops up`)"
        )
        return [
            BuildStep(step="schedule", status="skipped", detail=reason, native=_native_automl(app)),
            BuildStep(step="first_run", status="skipped", detail=reason, native=_native_automl(app)),
        ]
    parameters = {
        "dataset": app.dataset,
        "target": app.target,
        "budget_minutes": app.budget_minutes,
        "app": app.profile.name,
    }
    schedules = Schedules(runs)
    steps = []
    if app.profile.retrain_cron:
        schedules.put(AUTOML, f"app-{app.profile.name}", app.profile.retrain_cron, parameters)
        steps.append(
            BuildStep(
                step="schedule",
                status="done",
                detail=f"{AUTOML} retrains it at {app.profile.retrain_cron} (UTC)",
            )
        )
    else:  # on demand: a schedule an earlier build of the app made goes
        schedules.drop(AUTOML, f"app-{app.profile.name}")
        steps.append(
            BuildStep(step="schedule", status="skipped", detail="retrained on demand: no schedule asked")
        )
    schedules.put(
        MONITORING, f"app-{app.profile.name}-check", app.profile.monitoring.check_cron, {"retrain": False}
    )
    steps.append(
        BuildStep(
            step="drift_check",
            status="done",
            detail=f"{MONITORING} checks its model at {app.profile.monitoring.check_cron} (UTC)",
        )
    )
    if start_now:
        run = runs.start(AUTOML, parameters, started_by=who)
        steps.append(
            BuildStep(
                step="first_run", status="done", detail=f"run {run.id} ({run.name}) trains the first champion"
            )
        )
    return steps


def _docker(app: BuiltApp, folder: Path, say: Callable[[str], None]) -> BuildStep:
    """Build and start the app's image where a Docker engine answers; the native path where none does."""
    import docker
    from docker.errors import DockerException

    native = f"the API serves it now: POST /models/{app.model}/predict (once its first run has a champion)"
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except DockerException as exc:
        where = os.environ.get("DOCKER_HOST") or "the default socket"
        reason = str(exc).split("\n")[0][:200]
        return BuildStep(
            step="container",
            status="skipped",
            detail=f"no Docker engine answers at {where} ({reason}); the image files are in {folder}",
            native=native,
        )
    tag = f"rakuten-mlops-app/{app.profile.name}:latest"
    try:
        for chunk in client.api.build(path=str(folder), tag=tag, rm=True, decode=True):
            if "error" in chunk:
                raise DockerException(chunk["error"])
            line = str(chunk.get("stream", "")).rstrip()
            if line:
                say(line)
        container = client.containers.run(
            tag,
            detach=True,
            name=f"rakuten-mlops-app-{app.profile.name}",
            environment={"MLFLOW_TRACKING_URI": os.environ.get("MLFLOW_TRACKING_URI", "http://mlflow:5000")},
            ports={f"{SERVE_PORT}/tcp": ("127.0.0.1", None)},
        )
        for line in container.logs(tail=LOG_TAIL).decode("utf-8", "replace").splitlines():
            say(line)
    except DockerException as exc:
        return BuildStep(step="container", status="failed", detail=f"docker: {exc}", native=native)
    return BuildStep(
        step="container", status="done", detail=f"image {tag} built, container {container.short_id} started"
    )


def build_app(
    settings: Settings,
    engine: Engine,
    profile: AppProfile,
    dataset: str,
    *,
    target: str | None = None,
    budget_minutes: float = 5.0,
    start_now: bool = True,
    runs: Runs | None = None,
    docker: bool = True,
    who: str = "user",
    say: Callable[[str], None] = lambda line: None,
) -> BuiltApp:
    """Make the app's objects (see the module's docstring); nothing is written if the dataset does not fit."""
    from rakuten_mlops.automl.task import plan_task
    from rakuten_mlops.tables.store import DatasetStore

    said: list[str] = []

    def tell(line: str) -> None:
        said.append(line)
        say(line)

    store = DatasetStore.from_settings(settings, engine)
    detail = store.show(dataset)  # a DataError names the datasets there are
    frame = store.load_frame(dataset, detail.version)
    columns = [str(c) for c in frame.columns]
    chosen = target or match_target(profile, columns)
    if chosen is None:
        raise DataError(
            f"no column of dataset {dataset!r} matches the app's target {profile.target!r}; "
            f"say which to predict (columns: {', '.join(columns)})"
        )
    if chosen not in columns:
        raise DataError(f"dataset {dataset!r} has no column {chosen!r} (columns: {', '.join(columns)})")
    planned = plan_task(store, dataset, target=chosen)
    expectation = Expectation(
        dataset=dataset,
        target=chosen,
        target_kind="number" if profile.task in NUMERIC_TASKS else "any",
        columns=planned.spec.features,
    )
    check_expectation(expectation, frame, detail.version)
    tell(
        f"dataset {dataset!r} v{detail.version} fits: target {chosen!r}, {len(planned.spec.features)} inputs"
    )
    app = BuiltApp(
        profile=profile,
        dataset=dataset,
        dataset_version=detail.version,
        target=chosen,
        model=planned.model_name,
        budget_minutes=budget_minutes,
        expectation=expectation,
        task=planned.spec.model_dump(mode="json"),
        directory=str(app_dir(settings, profile.name)),
        built_at=datetime.now(UTC),
        built_by=who,
    )
    excluded = ", ".join(f"{e.column} ({e.reason})" for e in planned.spec.excluded) or "nothing"
    app.steps.append(
        BuildStep(
            step="expectation", status="done", detail=f"target {chosen!r}, at least {MIN_ROWS} labelled rows"
        )
    )
    app.steps.append(
        BuildStep(
            step="automl_task",
            status="done",
            detail=f"{planned.spec.problem_type} by {planned.spec.metric}; left out: {excluded}",
        )
    )
    folder = save(settings, app)
    _write(folder / "Dockerfile", dockerfile(app))
    _write(folder / "docker-compose.yml", yaml.safe_dump(compose(app), sort_keys=False))
    app.steps.append(
        BuildStep(step="files", status="done", detail=f"Dockerfile and docker-compose.yml in {folder}")
    )
    app.steps.append(
        BuildStep(
            step="monitoring",
            status="done",
            detail=f"drift threshold {profile.monitoring.drift_threshold:g} for {app.model}",
        )
    )
    save(settings, app)  # the objects above exist from here on, whatever the next steps do
    try:
        app.steps.extend(_schedule(app, runs, start_now, who))
    except MlopsError as exc:  # the server refused or went away: the files and the record stay
        app.steps.append(
            BuildStep(step="schedule", status="failed", detail=str(exc), native=_native_automl(app))
        )
    if docker:
        app.steps.append(_docker(app, folder, tell))
    tell(json.dumps({s.step: s.status for s in app.steps}))
    app.log = list(said)
    save(settings, app)
    return app
