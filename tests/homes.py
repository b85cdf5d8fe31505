"""Homes the tests build: an MLOPS_HOME whose catalogue and MLflow store are SQLite files inside it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from rakuten_mlops.config import Settings, load_settings
from rakuten_mlops.db import make_engine, upgrade


def sqlite_home(folder: Path, **overrides: str) -> tuple[Settings, Engine]:
    """Settings of a home at FOLDER (its folders made) and an engine on its migrated catalogue.

    The catalogue is `FOLDER/app.db` and the MLflow store `FOLDER/mlflow.db`; OVERRIDES are further
    settings by their variable's name (`MODEL_NAME=...`). The caller disposes of the engine.
    """
    settings = load_settings(
        MLOPS_HOME=str(folder),
        DATABASE_URL=f"sqlite:///{folder / 'app.db'}",
        MLFLOW_TRACKING_URI=f"sqlite:///{folder / 'mlflow.db'}",
        **overrides,
    ).prepare()
    engine = make_engine(settings.db_url)
    upgrade(engine)
    return settings, engine
