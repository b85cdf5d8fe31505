"""One AutoML task from start to champion: spec, search, held-out score, SHAP, MLflow, registry, gate.

    spec = plan_task(store, "churn", prompt="predict whether a customer churns")  # shown to confirm
    result = run_task(settings, store, spec)                                     # after confirmation

The table is split once (seeded, stratified for a classifier) into a training part, searched by
cross-validation, and a held-out part scored once. Everything goes to one MLflow run of the task's
experiment (`automl-<model name>`): the spec, the winner's parameters, its held-out metrics, each
candidate as a nested run, the SHAP plots, a reference sample for drift, and the model itself
(`mlflow.sklearn`, with its input signature). The model is registered under the task's own name
(`<dataset>-<target>`) as challenger; the gate compares it with the champion on the same held-out
rows by a paired bootstrap of the task's metric and promotes only a challenger shown better.

A task on a preprocessed dataset version trains on that version's rows, and the model it logs starts
with the version's own fitted steps (`dataset`, `tables.lineage`): it is served, gated, explained and
watched for drift on records shaped like the upload, so a prediction sees exactly the preprocessing its
training saw.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from rakuten_mlops import progress
from rakuten_mlops.automl.scores import Answers, paired, score, show
from rakuten_mlops.automl.search import FAMILIES, TableCandidate, TableSearchResult, search_table
from rakuten_mlops.automl.spec import TaskSpec, build_spec, parse_prompt
from rakuten_mlops.errors import DataError, ModelError

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from rakuten_mlops.config import Settings
    from rakuten_mlops.registry import GateDecision, Registry
    from rakuten_mlops.tables.lineage import SourceRows
    from rakuten_mlops.tables.models import TableProfile
    from rakuten_mlops.tables.store import DatasetStore

KIND_TAG = "mlops_kind"  # registered-model tag that tells AutoML models from the listing classifier
KIND = "automl"
TEST_SHARE = 0.2
REFERENCE_ROWS = 2_000  # held-out rows kept with the run as the drift reference
SEARCH_SHARE = 0.8  # of the budget; the rest is for the refit, the explanations and the logging


def model_name(dataset: str, target: str) -> str:
    """The registered model of a task: `<dataset>-<target>`, lower case, letters, digits, '.', '_', '-'."""
    return re.sub(r"[^a-z0-9._-]+", "-", f"{dataset}-{target}".lower()).strip("-._")[:120]


@dataclass(frozen=True)
class PlannedTask:
    """A task ready to confirm: the spec, and the table and profile it was read from."""

    dataset: str
    version: int
    spec: TaskSpec
    profile: TableProfile
    frame: pd.DataFrame
    source: SourceRows | None = None  # a preprocessed version: the uploaded rows behind `frame`, its steps

    @property
    def model_name(self) -> str:
        return model_name(self.dataset, self.spec.target)

    @property
    def inputs(self) -> list[str]:
        """The columns a record sent to the model must carry."""
        return self.source.inputs if self.source is not None else list(self.spec.features)


class AutoMLResult(BaseModel):
    """What `rakuten-mlops automl --json` prints (ARCHITECTURE.md, AutoML)."""

    model_name: str
    version: str
    problem_type: str
    metric: str
    score: float  # the winner's metric on the held-out rows, in the metric's units
    promoted: bool
    decision: str
    excluded_columns: list[dict[str, str]]
    leaderboard: list[dict[str, Any]]
    dataset: str
    dataset_version: int
    target: str
    features: list[str]
    inputs: list[str] = Field(
        default_factory=list
    )  # a record's columns (the upload's, for a preprocessed version)
    winner: dict[str, Any]
    untried_families: list[str] = Field(default_factory=list)  # the budget ran out before them
    rows: dict[str, int]
    importance: dict[str, float] = Field(default_factory=dict)
    run_id: str
    seconds: float


def plan_task(
    store: DatasetStore,
    dataset: str,
    *,
    target: str | None = None,
    prompt: str | None = None,
    metric: str | None = None,
    version: int | None = None,
) -> PlannedTask:
    """Read the dataset, find the target (given, from the prompt, or guessed) and build the spec to confirm."""
    from rakuten_mlops.tables.workbench import profile_dataset

    detail = store.show(dataset, version)
    source = None
    if detail.lineage is not None and detail.lineage.pipeline is not None:
        from rakuten_mlops.tables.lineage import source_rows

        source = source_rows(store, dataset, detail.version)
    frame = store.load_frame(dataset, detail.version).reset_index(drop=True)
    intent = parse_prompt(prompt, [str(c) for c in frame.columns]) if prompt else None
    chosen = target
    if chosen is None and intent is not None:
        if intent.target is None:
            columns = ", ".join(map(str, frame.columns))
            raise DataError(
                f"the prompt {prompt!r} names no column of {dataset!r} to predict; columns: {columns}"
            )
        chosen = intent.target.column
    profile = profile_dataset(store, dataset, chosen, detail.version)
    spec = build_spec(profile, intent=intent, target=target, metric=metric)
    if source is not None and spec.target != source.target:
        raise DataError(
            f"dataset {dataset!r} v{detail.version} was preprocessed for `{source.target}`: predict "
            f"`{source.target}`, or predict `{spec.target}` from v{_uploaded(detail)} (the upload)"
        )
    return PlannedTask(dataset, detail.version, spec, profile, frame, source)


def _uploaded(detail: Any) -> int:
    return int(detail.lineage.parent_version) if detail.lineage is not None else int(detail.version)


def with_dataset_steps(source: SourceRows, model: Pipeline) -> Pipeline:
    """The model behind its dataset version's fitted steps: it reads records shaped like the upload."""
    from sklearn.pipeline import Pipeline

    from rakuten_mlops.automl.explain import DATASET_STEP

    return Pipeline([(DATASET_STEP, source.pipeline()), *model.steps])


def split(spec: TaskSpec, frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and held-out parts of the labelled rows (stratified for a classifier whose classes allow it)."""
    from sklearn.model_selection import train_test_split

    labelled = frame[frame[spec.target].notna()]
    if spec.problem_type == "regression":
        values = pd.to_numeric(labelled[spec.target], errors="coerce")
        labelled = labelled[values.notna()]
    if len(labelled) < 20:
        raise DataError(
            f"{spec.target!r} is known on {len(labelled)} rows: at least 20 are needed to train and test a model"
        )
    counts = labelled[spec.target].astype(str).value_counts()
    stratify = (
        labelled[spec.target].astype(str)
        if spec.problem_type == "classification" and counts.min() >= 2
        else None
    )
    train, test = train_test_split(labelled, test_size=TEST_SHARE, random_state=seed, stratify=stratify)
    return train, test


def truth_of(spec: TaskSpec, part: pd.DataFrame) -> np.ndarray:
    """The target of a part as the model sees it: text classes, or numbers."""
    column = part[spec.target]
    if spec.problem_type == "classification":
        return column.astype(str).to_numpy()
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)


def answers_of(model: Pipeline, rows: pd.DataFrame) -> Answers:
    """A model's predictions on rows, and its class probabilities when it has them."""
    predictions = np.asarray(model.predict(rows))
    classes = getattr(model, "classes_", None)
    if classes is None or not hasattr(model, "predict_proba"):
        return Answers(predictions.astype(np.float64))
    return Answers(predictions.astype(str), np.asarray(model.predict_proba(rows)), tuple(map(str, classes)))


def held_out_metrics(spec: TaskSpec, truth: np.ndarray, answers: Answers) -> dict[str, float]:
    """Every metric of the task's problem type that these answers allow, on the held-out rows."""
    from rakuten_mlops.automl.spec import CLASSIFICATION_METRICS, REGRESSION_METRICS

    names = CLASSIFICATION_METRICS if spec.problem_type == "classification" else REGRESSION_METRICS
    found: dict[str, float] = {}
    for name in names:
        try:
            found[name] = score(name, truth, answers)
        except ValueError:
            continue  # no probabilities, or a class missing from the held-out rows
    return found


def gate(
    registry: Registry,
    version: str,
    spec: TaskSpec,
    test: pd.DataFrame,
    challenger: Answers,
    *,
    promote: bool = True,
    seed: int = 0,
) -> GateDecision:
    """Compare the challenger with the champion on the same held-out rows; promote one shown better."""

    from rakuten_mlops.registry import GateDecision

    truth = truth_of(spec, test)
    ours = score(spec.metric, truth, challenger)
    found = registry.champion()
    comparison = None
    if found is None:
        decision = GateDecision(
            True,
            "no champion yet: the first model is promoted",
            version,
            ours,
            None,
            None,
            0.0,
            metric=spec.metric,
        )
    else:
        champion_version = str(found.version)
        champion = load_version(registry, champion_version)
        missing = [c for c in _inputs(champion) if c not in test.columns]
        if missing:
            decision = GateDecision(
                False,
                f"champion v{champion_version} reads columns this table no longer has ({', '.join(missing)}): "
                "the two cannot be compared on the same rows, so nothing is promoted automatically",
                version, ours, champion_version, None, 0.0, metric=spec.metric,
            )  # fmt: skip
        else:
            theirs = answers_of(champion, test)
            comparison = paired(spec.metric, truth, challenger, theirs, seed=seed)
            champion_score = score(spec.metric, truth, theirs)
            promoted = comparison.beats(0.0)
            verdict = "better" if promoted else "not shown better"
            reason = (
                f"challenger v{version} {show(spec.metric, ours)}, champion v{champion_version} "
                f"{show(spec.metric, champion_score)} on the same {comparison.rows} held-out rows: "
                f"{verdict} at {comparison.confidence:.0%} confidence (improvement at least {comparison.low:+.4g}, "
                f"p={comparison.p_value:.3f}, paired bootstrap)"
            )
            decision = GateDecision(
                promoted,
                reason,
                version,
                ours,
                champion_version,
                champion_score,
                0.0,
                comparison,
                spec.metric,
            )
    return registry.apply(decision, promote)


TRUSTED_MODULES = ("sklearn.", "numpy.", "scipy.", "skrub.", "rakuten_mlops.automl.", "rakuten_mlops.tables.")


def trusted_types(model: Pipeline) -> list[str]:
    """The types skops asks to trust before it loads the model, when each comes from a module we trust.

    The model is saved with skops (no pickle: loading it runs no arbitrary code). skops trusts plain
    estimators by itself and names the rest (the pipeline's column functions, some numpy and
    scikit-learn internals); only those from scikit-learn, NumPy, SciPy and this package are accepted.
    """
    import skops.io

    found = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    foreign = [t for t in found if not t.startswith(TRUSTED_MODULES)]
    if foreign:
        raise ModelError(f"the model holds types that are not trusted for saving: {', '.join(foreign)}")
    return list(found)


def _inputs(model: Any) -> list[str]:
    return [str(c) for c in getattr(model, "feature_names_in_", [])]


def load_version(registry: Registry, version: str) -> Pipeline:
    """A registered version of a task's model, as the scikit-learn pipeline it was logged as."""
    import mlflow.sklearn

    with tempfile.TemporaryDirectory(prefix="automl-model-") as tmp:
        folder = registry.download(version, Path(tmp))
        try:
            model: Pipeline = mlflow.sklearn.load_model(str(folder))
        except Exception as exc:  # a broken or foreign model folder: say which
            raise ModelError(
                f"version {version} of {registry.name!r} is not a loadable table model: {exc}"
            ) from exc
    return model


def _log_candidates(result: TableSearchResult, experiment_id: str) -> None:
    import mlflow

    for row in result.leaderboard:
        with mlflow.start_run(
            run_name=f"trial {row['trial']}: {row['family']}", nested=True, experiment_id=experiment_id
        ):
            mlflow.log_params({"family": row["family"], **row["params"]})
            metrics = {"seconds": row["seconds"]}
            if row["score"] is not None:
                metrics[f"cv_{result.metric}"] = (
                    abs(row["score"]) if result.metric in {"rmse", "mae", "log_loss"} else row["score"]
                )
            mlflow.log_metrics(metrics)
            if row["error"]:
                mlflow.set_tag("error", str(row["error"])[:500])


def run_task(
    settings: Settings,
    planned: PlannedTask,
    *,
    budget_minutes: float = 2.0,
    max_trials: int = 200,
    families: tuple[str, ...] = FAMILIES,
    promote: bool = True,
    explain: bool = True,
    say: Callable[[str], None] | None = None,
) -> AutoMLResult:
    """Search, score, explain, log, register and gate the task; the summary `automl --json` prints."""
    import mlflow
    from mlflow.models import infer_signature

    from rakuten_mlops import tracking
    from rakuten_mlops.automl.explain import Explainer, plot_global
    from rakuten_mlops.registry import Registry

    started = time.monotonic()
    spec, name = planned.spec, planned.model_name
    if name == settings.model_name:
        raise DataError(
            f"the task's model name {name!r} is the listing classifier's (MODEL_NAME): rename the dataset"
        )
    seed = settings.split_seed
    train, test = split(spec, planned.frame, seed)
    tell = say or (lambda _: None)
    tell(f"searching {len(families)} families on {len(train):,} training rows for {budget_minutes:g} min")

    done: list[TableCandidate] = []

    def candidate_done(found: TableCandidate) -> None:
        done.append(found)
        progress.report("search", len(done), None)
        shown = "failed: " + str(found.error)[:120] if found.score is None else f"{abs(found.score):.4f}"
        tell(
            f"trial {found.trial} {found.params['family']}: cv {spec.metric} {shown} ({found.seconds:.1f} s)"
        )

    result = search_table(
        spec, planned.profile, train, budget_seconds=budget_minutes * 60 * SEARCH_SHARE,
        max_trials=max_trials, families=families, seed=seed, on_candidate=candidate_done,
        dask_address=settings.dask_scheduler_address,
    )  # fmt: skip
    progress.report("search", len(result.candidates), len(result.candidates))
    if result.untried:
        tell(f"the budget ran out before these families were tried: {', '.join(result.untried)}")
    model, x_test, x_train = result.model, test[spec.features], train[spec.features]
    if planned.source is not None:  # served behind the version's steps, on the uploaded rows
        model = with_dataset_steps(planned.source, model)
        train, test = planned.source.rows.loc[train.index], planned.source.rows.loc[test.index]
        x_test, x_train = test[planned.inputs], train[planned.inputs]
        tell(f"the model reads records shaped like the upload, through the {len(planned.source.pipelines)} "
             f"preprocessed version(s) behind v{planned.version}")  # fmt: skip
    answers = answers_of(model, x_test)
    truth = truth_of(spec, test)
    metrics = held_out_metrics(spec, truth, answers)
    global_explanation = None
    experiment_id = tracking.use_experiment(settings, f"automl-{name}")
    registry = Registry(tracking.client(settings.tracking_uri), name)
    with (
        tracking.tracked_run(
            settings.tracking_uri, settings.mlops_home, experiment_id=experiment_id, run_name=name
        ) as run,
        tempfile.TemporaryDirectory(prefix="automl-") as tmp,
    ):
        folder = Path(tmp)
        mlflow.set_tags(
            {
                "task": KIND, "dataset": planned.dataset, "dataset_version": str(planned.version),
                "target": spec.target, "problem_type": spec.problem_type, "metric": spec.metric,
                "winner_family": result.winner.params["family"], "rows_train": str(len(train)),
                "rows_test": str(len(test)), "candidates": str(len(result.candidates)),
            }
        )  # fmt: skip
        mlflow.log_params({f"winner_{k}": v for k, v in result.winner.params.items()})
        mlflow.log_metrics(
            {
                **metrics,
                f"cv_{spec.metric}": abs(result.winner.score or 0.0),
                "search_seconds": result.seconds,
            }
        )
        (folder / "spec.json").write_text(spec.model_dump_json(indent=1), encoding="utf-8")
        (folder / "leaderboard.json").write_text(
            json.dumps(result.leaderboard, indent=1, default=str), encoding="utf-8"
        )
        mlflow.log_artifact(str(folder / "spec.json"), artifact_path="task")
        mlflow.log_artifact(str(folder / "leaderboard.json"), artifact_path="task")
        reference = test.sample(n=min(REFERENCE_ROWS, len(test)), random_state=seed)
        reference.to_parquet(folder / "reference_sample.parquet", index=False)
        mlflow.log_artifact(str(folder / "reference_sample.parquet"), artifact_path="reference")
        _log_candidates(result, experiment_id)
        if explain:
            tell(f"explaining the winner ({result.winner.params['family']}) with SHAP")
            progress.report("explain", 0, 1)
            explainer = Explainer(model, x_train, seed=seed)
            global_explanation = explainer.explain_global(x_test, seed=seed)
            (folder / "importance.json").write_text(json.dumps(global_explanation.importance, indent=1))
            mlflow.log_artifact(str(folder / "importance.json"), artifact_path="explanations")
            for path in plot_global(global_explanation, folder / "plots"):
                mlflow.log_artifact(str(path), artifact_path="explanations")
            progress.report("explain", 1, 1)
        example = x_train.head(5)
        signature = infer_signature(example, model.predict(example))
        import sklearn

        info = mlflow.sklearn.log_model(
            model, name="model", signature=signature, input_example=example,
            serialization_format="skops", skops_trusted_types=trusted_types(model),
            pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"pandas=={pd.__version__}",
                              f"numpy=={np.__version__}", "rakuten-mlops"],
        )  # fmt: skip
        run_id = run.info.run_id
    registry.tag_model(
        {
            KIND_TAG: KIND, "dataset": planned.dataset, "target": spec.target, "problem_type": spec.problem_type,
            "metric": spec.metric, "features": json.dumps(planned.inputs),
        }
    )  # fmt: skip
    registered = registry.register(
        info.model_uri, run_id, getattr(info, "model_id", None),
        tags={"dataset": planned.dataset, "dataset_version": str(planned.version), "metric": spec.metric},
    )  # fmt: skip
    tell(
        f"registered {name} v{registered.version}; comparing it with the champion on {len(test):,} held-out rows"
    )
    decision = gate(registry, str(registered.version), spec, test, answers, promote=promote, seed=seed)
    tell(f"{'promoted' if decision.promote else 'not promoted'}: {decision.reason}")
    winner = {"family": result.winner.params["family"], "cv_score": result.winner.score,
              **{k: v for k, v in result.winner.params.items() if k != "family"}}  # fmt: skip
    return AutoMLResult(
        model_name=name,
        version=str(registered.version),
        problem_type=spec.problem_type,
        metric=spec.metric,
        score=metrics[spec.metric],
        promoted=decision.promote,
        decision=decision.reason,
        excluded_columns=[e.model_dump() for e in spec.excluded],
        leaderboard=result.leaderboard,
        dataset=planned.dataset,
        dataset_version=planned.version,
        target=spec.target,
        features=spec.features,
        inputs=planned.inputs,
        winner=winner,
        untried_families=result.untried,
        rows={"train": len(train), "test": len(test)},
        importance=global_explanation.importance if global_explanation is not None else {},
        run_id=run_id,
        seconds=round(time.monotonic() - started, 2),
    )
