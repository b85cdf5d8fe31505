"""A trained MLOPS_HOME, built once per session, for the observability tests that run the real API."""

from __future__ import annotations

from pathlib import Path

import pytest

# Settings read from the environment that must not leak from the developer's shell into the tests.
ISOLATED_VARS = ("MLOPS_HOME", "DATABASE_URL", "MLFLOW_TRACKING_URI", "MODEL_NAME", "API_URL", "API_KEY")


@pytest.fixture(scope="session")
def observability_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MLOPS_HOME with a sample catalogue and one registered version, promoted champion (copy before use)."""
    # Imported here: MLflow and the trainers take ~10 s to import, which the fast tests of this folder skip.
    from rakuten_mlops.config import load_settings
    from rakuten_mlops.data.catalogue import load_labelled
    from rakuten_mlops.data.ingestion import ingest_sample
    from rakuten_mlops.db import make_engine, upgrade
    from rakuten_mlops.registry import Registry
    from rakuten_mlops.training.pipeline import fit_and_evaluate, log_training_run, split_frames

    home = tmp_path_factory.mktemp("observability") / "mlops"
    with pytest.MonkeyPatch.context() as patch:
        for name in ISOLATED_VARS:
            patch.delenv(name, raising=False)
        settings = load_settings(MLOPS_HOME=str(home)).prepare()
        engine = make_engine(settings.db_url)
        upgrade(engine)
        ingest_sample(engine, 3_000, seed=5)
        frame = load_labelled(engine, settings.split_seed)
        engine.dispose()
        parts = split_frames(frame)
        trained = fit_and_evaluate(parts, "sklearn", "cpu", seed=1)
        run_id, uri, model_id = log_training_run(trained, frame, parts, settings)
        registry = Registry.from_uri(settings.tracking_uri, settings.model_name)
        registry.register(uri, run_id, model_id)
        registry.promote("1", "observability test fixture")
    return home
