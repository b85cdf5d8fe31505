"""A local MLOPS_HOME with a generated catalogue and a trained champion, for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

from rakuten_mlops.config import DEFAULT_MODEL_NAME, Settings, load_settings


def build_trained_home(home: Path, rows: int = 3_000, *, seed: int = 5, versions: int = 1) -> Settings:
    """Ingest `rows` generated listings, register `versions` sklearn models (seeds 1..n), promote v1.

    Later versions are gated against v1 (their decision tags written) with promotion disabled.

    Every URL is derived from `home`, so nothing from the caller's environment leaks in.
    """
    # Imported here: MLflow and the trainers take seconds to import, and callers may not need them.
    from rakuten_mlops.data.catalogue import load_labelled
    from rakuten_mlops.data.ingestion import ingest_sample
    from rakuten_mlops.db import make_engine, upgrade
    from rakuten_mlops.registry import Registry
    from rakuten_mlops.training.pipeline import (
        fit_and_evaluate,
        gate_and_promote,
        log_training_run,
        split_frames,
    )

    settings = load_settings(
        MLOPS_HOME=str(home),
        DATABASE_URL=f"sqlite:///{home / 'app.db'}",
        MLFLOW_TRACKING_URI=f"sqlite:///{home / 'mlflow.db'}",
        MODEL_NAME=DEFAULT_MODEL_NAME,
    ).prepare()
    engine = make_engine(settings.db_url)
    upgrade(engine)
    ingest_sample(engine, rows, seed=seed)
    frame = load_labelled(engine, settings.split_seed)
    engine.dispose()
    parts = split_frames(frame)
    registry = Registry.from_uri(settings.tracking_uri, settings.model_name)
    for model_seed in range(1, versions + 1):
        trained = fit_and_evaluate(parts, "sklearn", "cpu", seed=model_seed)
        run_id, uri, model_id = log_training_run(trained, frame, parts, settings)
        version = str(registry.register(uri, run_id, model_id).version)
        if version == "1":
            registry.promote("1", "built by rakuten_mlops.testing.trained")
        else:  # gated against v1 on the same rows, as training does, but never promoted
            gate_and_promote(registry, version, trained.model, parts["test"], 0.0, promote=False)
    return settings
