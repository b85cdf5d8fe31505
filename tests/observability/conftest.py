"""A trained MLOPS_HOME, built once per session, for the observability tests that run the real API."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def observability_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MLOPS_HOME with a sample catalogue and one registered version, promoted champion (copy before use)."""
    from rakuten_mlops.testing.trained import build_trained_home  # slow imports: only when needed

    home = tmp_path_factory.mktemp("observability") / "mlops"
    build_trained_home(home, 3_000, seed=5)
    return home
