"""A labelled text set in the challenge's shape, and its X/Y CSV files."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class TextDataset:
    """Rows of (designation, description, integer code) and the name of each code."""

    name: str
    frame: pd.DataFrame  # columns designation, description, prdtypecode (int)
    labels: dict[int, str]  # code -> human name, e.g. 6 -> "noun.artifact"
    source: str  # where the rows came from, for the benchmark's notes

    @property
    def rows(self) -> int:
        """Number of rows."""
        return len(self.frame)

    @property
    def classes(self) -> int:
        """Number of distinct codes."""
        return int(self.frame["prdtypecode"].nunique())

    def as_training_frame(self) -> pd.DataFrame:
        """designation, description and the code as text: what the trainers take."""
        return pd.DataFrame(
            {
                "designation": self.frame["designation"].to_numpy(),
                "description": self.frame["description"].to_numpy(),
                "label": self.frame["prdtypecode"].astype(str).to_numpy(),
            }
        )


@dataclass(frozen=True)
class ChallengeFiles:
    """Where write_challenge_files put a set."""

    x: Path
    y: Path
    labels: Path


def write_challenge_files(dataset: TextDataset, folder: Path) -> ChallengeFiles:
    """Write X_<name>.csv, Y_<name>.csv (first column the unnamed index) and labels_<name>.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = dataset.frame.reset_index(drop=True)
    x = pd.DataFrame(
        {
            "designation": frame["designation"],
            "description": frame["description"],
            "productid": range(1, len(frame) + 1),
            "imageid": range(1, len(frame) + 1),
        }
    )
    paths = ChallengeFiles(
        folder / f"X_{dataset.name}.csv",
        folder / f"Y_{dataset.name}.csv",
        folder / f"labels_{dataset.name}.csv",
    )
    x.to_csv(paths.x, index=True, encoding="utf-8")
    frame[["prdtypecode"]].to_csv(paths.y, index=True, encoding="utf-8")
    counts = frame["prdtypecode"].value_counts()
    with paths.labels.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prdtypecode", "label", "rows"])
        for code in sorted(dataset.labels):
            writer.writerow([code, dataset.labels[code], int(counts.get(code, 0))])
    return paths
