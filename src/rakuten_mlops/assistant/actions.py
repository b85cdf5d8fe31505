"""What each tool does: the package's own functions, run with the caller's rights and audited.

Every tool maps to the role action that guards it (`auth.roles.ACTIONS`): a reading tool needs
`read`, a changing one the action the CLI and the control room use for the same change
(`promote`, `rollback`, `acknowledge`, `run_start`...). A change runs through `run_audited`, so it
is checked, done and written to the audit log in one place, with `via: assistant` and the tool's
name in its arguments. Long work (training, a drift check) is started as a run of its
deployment, which the Runs page follows and can cancel; the tool answers with the run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx
from sqlalchemy import Engine

from rakuten_mlops.auth.audit import list_entries, run_audited
from rakuten_mlops.auth.roles import Principal, require
from rakuten_mlops.config import Settings
from rakuten_mlops.errors import DataError, MlopsError
from rakuten_mlops.registry import Registry

# The role action each tool needs (reading tools: "read").
GUARD = {
    "promote_model": "promote",
    "rollback_model": "rollback",
    "train_model": "run_start",
    "run_drift_check": "run_start",
    "acknowledge_alert": "acknowledge",
    "ingest_sample": "ingest",
    "start_automl": "automl",
    "cancel_run": "run_cancel",
    "retry_run": "run_retry",
    "schedule_workflow": "schedule",
    "pause_schedule": "schedule",
    "build_app": "app_build",
}
SAMPLE_SEED = 7  # the generated listings' seed when a request gives none


def _quiet(line: str) -> None:
    """Nobody listens to the work's log (it is still kept where the work keeps it)."""


@dataclass
class Context:
    """Who asks, with which settings; the database, registry, runs and API opened when a tool needs them."""

    settings: Settings
    principal: Principal
    api_url: str | None = None  # the prediction API (default API_URL); the API gives its own address
    local_prefect: bool = (
        True  # without a configured server, start a temporary one (the CLI); the API refuses
    )
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30.0))
    log: Callable[[str], None] = _quiet  # what long work says as it goes (an app's build log), line by line

    @cached_property
    def engine(self) -> Engine:
        from rakuten_mlops.db import ensure_schema, make_engine

        engine = make_engine(self.settings.db_url)
        ensure_schema(engine)
        return engine

    def registry(self, model: str | None) -> Registry:
        return Registry.from_uri(self.settings.tracking_uri, model or self.settings.model_name)

    @cached_property
    def runs(self) -> Any:
        from rakuten_mlops.runs.connect import prefect_url
        from rakuten_mlops.runs.errors import PrefectUnavailableError
        from rakuten_mlops.runs.service import Runs

        url = prefect_url(self.settings.mlops_home)
        if url is None and not self.local_prefect:
            raise PrefectUnavailableError("no Prefect server is configured for the API: set PREFECT_API_URL")
        return Runs(url, self.settings.tracking_uri)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        base = (self.api_url or self.settings.api_url).rstrip("/")
        try:
            response = self.http.request(method, f"{base}{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise DataError(f"the prediction API at {base} does not answer ({exc})") from exc
        if response.status_code >= 400:
            detail = (
                response.json().get("detail") if "json" in response.headers.get("content-type", "") else None
            )
            raise DataError(
                f"the prediction API answered {response.status_code}: {detail or response.text[:200]}"
            )
        return response.json()


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _record(value: Any) -> dict[str, Any]:
    found = _jsonable(value)
    return found if isinstance(found, dict) else {"result": found}


# ------------------------------------------------------------------ reading tools


def system_status(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    try:
        health = ctx.api("GET", "/health")
        found["api"] = {
            "ok": True,
            "model_version": health.get("model_version"),
            "inference_log": health.get("inference_log", {}).get("state"),
        }
    except DataError as exc:
        found["api"] = {"ok": False, "error": str(exc)}
    try:
        from sqlalchemy import text

        with ctx.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        found["database"] = {"ok": True}
    except Exception as exc:  # the sentence is the answer
        found["database"] = {"ok": False, "error": str(exc).splitlines()[0]}
    try:
        champion = ctx.registry(None).champion()
        found["registry"] = {"ok": True, "champion": None if champion is None else str(champion.version)}
    except MlopsError as exc:
        found["registry"] = {"ok": False, "error": str(exc)}
    try:
        found["runs"] = {"ok": True, "last_24h": ctx.runs.summary(24.0)}
    except MlopsError as exc:
        found["runs"] = {"ok": False, "error": str(exc)}
    return found


def list_models(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    registry = ctx.registry(args.get("model"))
    return {"model": registry.name, "versions": _jsonable(registry.versions())}


def model_details(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    registry = ctx.registry(args.get("model"))
    version = args.get("version")
    if version is None:
        champion = registry.champion()
        if champion is None:
            raise DataError(f"{registry.name!r} has no champion yet; train one first")
        version = str(champion.version)
    return {"model": registry.name, **_jsonable(registry.version_info(version))}


def drift_status(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    from rakuten_mlops.monitoring.store import recent_drift

    reports = recent_drift(ctx.engine, 5)
    return {"reports": [{**_jsonable(r), "drifted_features": r.drifted_features} for r in reports]}


def list_alerts(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    from rakuten_mlops.monitoring.alerts import list_alerts as open_alerts

    return {
        "alerts": _jsonable(
            open_alerts(ctx.engine, include_acknowledged=False, limit=50, kind=args.get("kind"))
        )
    }


def _listing(args: dict[str, Any]) -> dict[str, Any]:
    return {"designation": args["designation"], "description": args.get("description")}


def predict(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return _record(ctx.api("POST", "/predict", json=_listing(args)))


def explain_prediction(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return _record(ctx.api("POST", "/explain", json=_listing(args)))


def _store(ctx: Context) -> Any:
    from rakuten_mlops.tables.store import DatasetStore

    return DatasetStore.from_settings(ctx.settings, ctx.engine)


def list_datasets(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return {"datasets": _jsonable(_store(ctx).list())}


def profile_dataset(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    name = args.get("dataset")
    if name is None:  # the listing catalogue
        from rakuten_mlops.data.profiling import profile

        return _record(profile(ctx.engine))
    from rakuten_mlops.tables.workbench import profile_dataset as profile_table

    return _record(profile_table(_store(ctx), name))


def suggest_preprocessing(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """The steps for the profile's guessed target (the profile says which column and why)."""
    from rakuten_mlops.tables.workbench import profile_dataset as profile_table
    from rakuten_mlops.tables.workbench import suggest_for_dataset

    store, name = _store(ctx), args["dataset"]
    guessed = profile_table(store, name).target
    if guessed is None:
        raise DataError(f"no column of {name!r} looks like a target; say which one, in the Datasets page")
    return {
        "target": guessed.column,
        "why": guessed.reason,
        **_jsonable(suggest_for_dataset(store, name, guessed.column)),
    }


def list_runs(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    found = ctx.runs.search(state=args.get("status"), flow=args.get("flow"), since_hours=24 * 7)
    return {"runs": _jsonable(found[:20])}


def _run_id(ctx: Context, args: dict[str, Any], states: tuple[str, ...] = ()) -> str:
    if args.get("run_id"):
        return str(args["run_id"])
    flow = args.get("flow")
    runs = [r for r in ctx.runs.search(flow=flow, since_hours=24 * 7) if not states or r.state_type in states]
    if not runs:
        raise DataError(f"no {'matching ' if states else ''}run of {flow or 'any flow'} in the last week")
    return str(runs[0].id)


def run_logs(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    run_id = _run_id(ctx, args)
    lines = ctx.runs.logs(run_id, limit=200)
    return {"run_id": run_id, "lines": _jsonable(lines[-50:])}


def design_app(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """The app profile an intent describes, and its graph (graphviz): to check and edit before building."""
    from rakuten_mlops.assistant.apps import design, to_dot

    profile = design(args["intent"])
    return {"profile": profile.model_dump(mode="json"), "graph": to_dot(profile)}


def audit_log(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """Who changed what, from the audit log (and, for a version's promotions, the registry's history).

    `answer` says it in a sentence and `read` names what was read, so the reply can cite it.
    """
    since, action, version = args.get("since_hours"), args.get("action"), args.get("version")
    entries = list_entries(ctx.engine, since_hours=since, action=action, limit=500)
    if version is not None:
        entries = [e for e in entries if str(e.arguments.get("version")) == version]
    window = f"the last {since:g} h" if since else "all time"
    read = [f"the audit log ({len(entries)} entries, {window})"]
    found: dict[str, Any] = {"entries": _jsonable(entries[:50]), "read": read}
    if version is not None and action in {None, "promote", "rollback"}:
        registry = ctx.registry(args.get("model"))
        events = [e for e in registry.history() if str(e.get("version")) == version]
        found["champion_events"] = events
        read.append(
            f"the registry's champion history of {registry.name} ({len(events)} events of v{version})"
        )
    what = {"promote": "promoted", "rollback": "rolled back"}.get(action or "", "changed")
    subject = f"v{version}" if version else "the platform"
    if entries:
        newest = entries[0]
        more = f" (and {len(entries) - 1} earlier)" if len(entries) > 1 else ""
        found["answer"] = (
            f"{newest.user} {what} {subject} at {newest.at:%Y-%m-%d %H:%M} UTC "
            f"({newest.action}, {newest.result}){more}"
        )
    else:
        found["answer"] = f"Nobody {what} {subject} in {window}, according to the audit log"
    return found


# ------------------------------------------------------------------ changing tools


def promote_model(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    registry = ctx.registry(args.get("model"))
    registry.version_info(args["version"])  # a clear error for a version that does not exist
    registry.promote(args["version"], "promoted from the assistant", action="manual")
    return {"model": registry.name, "champion": args["version"]}


def rollback_model(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    registry = ctx.registry(args.get("model"))
    return {"model": registry.name, "champion": registry.rollback("rolled back from the assistant")}


def _start(ctx: Context, deployment: str, parameters: dict[str, Any]) -> dict[str, Any]:
    run = ctx.runs.start(deployment, parameters, started_by=ctx.principal.name)
    return {"run": _jsonable(run), "follow": "the Runs page, or `rakuten-mlops runs logs ID --follow`"}


def train_model(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return _start(ctx, "training-pipeline", {k: v for k, v in args.items() if v is not None})


def run_drift_check(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return _start(ctx, "monitor-and-retrain", {k: v for k, v in args.items() if v is not None})


def start_automl(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return _start(ctx, "automl", {k: v for k, v in args.items() if v is not None})


def acknowledge_alert(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    from rakuten_mlops.monitoring.alerts import acknowledge

    return _record(acknowledge(ctx.engine, int(args["alert_id"]), ctx.principal.name))


def ingest_sample(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    from rakuten_mlops.data.ingestion import ingest_sample as ingest

    result = ingest(ctx.engine, int(args.get("rows") or 1_000), SAMPLE_SEED, drift=bool(args.get("drift")))
    return _record(result)


def cancel_run(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    run_id = _run_id(ctx, args, ("RUNNING", "PENDING", "SCHEDULED"))
    return {"run": _jsonable(ctx.runs.cancel(run_id, who=ctx.principal.name))}


def retry_run(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    run_id = _run_id(ctx, args, ("FAILED", "CRASHED", "CANCELLED"))
    return {"run": _jsonable(ctx.runs.retry(run_id, started_by=ctx.principal.name))}


def _schedules(ctx: Context) -> Any:
    from rakuten_mlops.runs.schedules import Schedules

    return Schedules(ctx.runs)


def schedule_workflow(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return _record(_schedules(ctx).set(args["deployment"], args["cron"], "UTC"))


def pause_schedule(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    return _record(_schedules(ctx).set_active(args["deployment"], False))


def build_app(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """The objects of an app (assistant.build): from an edited profile, or designed from the intent."""
    from rakuten_mlops.apps.profile import AppProfile
    from rakuten_mlops.assistant.apps import design
    from rakuten_mlops.assistant.build import build_app as build
    from rakuten_mlops.runs.connect import prefect_url

    if args.get("profile"):
        try:
            profile = AppProfile.model_validate(args["profile"])
        except ValueError as exc:  # pydantic names the field
            raise DataError(f"the app profile is not valid: {exc}") from None
    elif args.get("intent"):
        profile = design(args["intent"])
    else:
        raise DataError("say which app to build: its intent in a sentence, or a profile from design_app")
    runs = ctx.runs if prefect_url(ctx.settings.mlops_home) else None  # schedules need a lasting server
    built = build(
        ctx.settings, ctx.engine, profile, args["dataset"], target=args.get("target"),
        budget_minutes=float(args.get("budget_minutes") or 5), start_now=args.get("start_now") is not False,
        runs=runs, who=ctx.principal.name, say=ctx.log,
    )  # fmt: skip
    return _record(built)


IMPLEMENTED: dict[str, Callable[[Context, dict[str, Any]], dict[str, Any]]] = {
    f.__name__: f
    for f in (
        system_status, list_models, model_details, drift_status, list_alerts, predict, explain_prediction,
        list_datasets, profile_dataset, suggest_preprocessing, list_runs, run_logs, design_app, audit_log,
        promote_model, rollback_model, train_model, run_drift_check, start_automl, acknowledge_alert, ingest_sample,
        cancel_run, retry_run, schedule_workflow, pause_schedule, build_app,
    )
}  # fmt: skip


def execute(ctx: Context, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Run one tool as `ctx.principal`: a reading tool after the `read` check, a change audited."""
    work = IMPLEMENTED.get(tool)
    if work is None:
        raise DataError(f"the tool {tool!r} cannot run from here yet")
    action = GUARD.get(tool)
    if action is None:
        require(ctx.principal, "read")
        return work(ctx, arguments)
    audited = {"via": "assistant", "tool": tool, **arguments}
    return run_audited(ctx.engine, ctx.principal, action, audited, lambda: work(ctx, arguments))
