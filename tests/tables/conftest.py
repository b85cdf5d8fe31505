"""Tables the workbench tests share: the messy export, written once per session (Latin-1, `;`, quoted newlines)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rakuten_mlops.tables.samples import write_messy_csv

MESSY_ROWS = 400


@pytest.fixture(scope="session")
def messy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """The messy churn export as a file and as the frame that was written."""
    path = tmp_path_factory.mktemp("messy") / "churn export.csv"
    return path, write_messy_csv(path, MESSY_ROWS, seed=3)


@pytest.fixture(scope="session")
def messy_frame(messy: tuple[Path, pd.DataFrame]) -> pd.DataFrame:
    """The messy export as the workbench reads it."""
    from rakuten_mlops.tables.reading import read_frame

    return read_frame(messy[0])
