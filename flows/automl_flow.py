"""The `automl` flow: a dataset and a target (or a sentence) -> a searched, explained, gated table model.

The same task as `rakuten-mlops automl --yes`: the spec is read from the stored dataset with its
default exclusions (no question: a deployment runs unattended), then searched within the budget,
logged, registered and gated. As a run of the `automl/on-demand` deployment it is on the Runs
page, with its candidates in the run's log, and can be cancelled there.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.hooks import alert_on_failure
from rakuten_mlops.config import get_settings
from rakuten_mlops.runs.guard import clean_up_cancelled, record_run_process


@flow(
    name="automl",
    on_failure=[alert_on_failure],
    on_running=[record_run_process],
    on_cancellation=[clean_up_cancelled],
)
def automl(
    dataset: str,
    target: str | None = None,
    prompt: str | None = None,
    metric: str | None = None,
    budget_minutes: float = 5.0,
    promote: bool = True,
    app: str | None = None,
) -> dict[str, Any]:
    """Plan the task from the dataset and the target or sentence, then search, explain, register and gate it.

    `app`: the app (`build_app`) this run retrains; its dataset expectation is checked first.
    """
    from rakuten_mlops.automl.task import plan_task, run_task
    from rakuten_mlops.db import ensure_schema, get_engine
    from rakuten_mlops.tables.store import DatasetStore

    settings = get_settings().prepare()
    logger = get_run_logger()
    engine = get_engine(settings.db_url)
    ensure_schema(engine)
    store = DatasetStore.from_settings(settings, engine)
    if app is not None:  # an app's scheduled run: its dataset must still fit what the app was built on
        from rakuten_mlops.apps.records import check_expectation, load_app

        built = load_app(settings, app)
        newest = store.show(dataset)
        check_expectation(built.expectation, store.load_frame(dataset, newest.version), newest.version)
        logger.info("app %s: dataset %s v%d still fits its expectation", app, dataset, newest.version)
    planned = plan_task(store, dataset, target=target, prompt=prompt, metric=metric)
    spec = planned.spec
    logger.info(
        "task: predict %s (%s, %s) from %d columns; left out: %s",
        spec.target, spec.problem_type, spec.metric, len(spec.features),
        ", ".join(f"{e.column} ({e.reason})" for e in spec.excluded) or "none",
    )  # fmt: skip
    result = run_task(settings, planned, budget_minutes=budget_minutes, promote=promote, say=logger.info)
    logger.info("%s v%s: %s", result.model_name, result.version, result.decision)
    return result.model_dump(mode="json")
