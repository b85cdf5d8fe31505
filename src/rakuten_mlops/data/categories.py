"""The 27 Rakuten France product-type codes, their names and real training-set sizes."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Category:
    """One product type of the Rakuten France taxonomy."""

    code: int
    label: str
    train_rows: int


@cache
def rakuten_categories() -> tuple[Category, ...]:
    """Return the Rakuten categories in code order (read once from the packaged CSV)."""
    text = resources.files("rakuten_mlops.data").joinpath("categories.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return tuple(
        sorted(
            (Category(int(r["prdtypecode"]), r["label"], int(r["train_rows"])) for r in rows),
            key=lambda c: c.code,
        )
    )


def category_label(code: str | int) -> str | None:
    """Return the human name of a Rakuten code, or None for a code outside the taxonomy."""
    try:
        wanted = int(code)
    except (TypeError, ValueError):
        return None
    return next((c.label for c in rakuten_categories() if c.code == wanted), None)
