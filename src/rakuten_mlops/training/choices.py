"""The choices of `rakuten-mlops train` (and of the training flow's parameters), free of heavy imports."""

from __future__ import annotations

from enum import StrEnum


class TrainerName(StrEnum):
    """The trainers `rakuten-mlops train --trainer` offers."""

    SKLEARN = "sklearn"
    TORCH = "torch"


class Device(StrEnum):
    """Where the torch trainer runs; `auto` picks CUDA when torch sees a GPU."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


class SearchMode(StrEnum):
    """How much `train` searches: `off` trains the fixed trainer, `quick` is the default, `full` is wider."""

    OFF = "off"
    QUICK = "quick"
    FULL = "full"
