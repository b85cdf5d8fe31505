"""Batch scoring of a file with the champion: streamed in chunks, row order and count preserved."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
from pydantic import BaseModel

from rakuten_mlops import progress
from rakuten_mlops.data.validation import check_columns
from rakuten_mlops.errors import ValidationError
from rakuten_mlops.training.model import TextClassifierModel


class ScoringResult(BaseModel):
    """What `rakuten-mlops predict` did."""

    input: str
    output: str
    rows: int
    model_version: str


def _has_index_column(path: Path) -> bool:
    """The challenge's X files start with an unnamed index column."""
    if not path.is_file():
        raise ValidationError(str(path), "no such file")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle), [])
    except UnicodeDecodeError:
        raise ValidationError(str(path), "the header is not UTF-8; save the file as UTF-8") from None
    if not header:
        raise ValidationError(str(path), "the file is empty")
    check_columns(str(path), header, ["designation"])
    return header[0] == ""


def score_file(
    model: TextClassifierModel, version: str, source: Path, target: Path, chunk_rows: int = 20_000
) -> ScoringResult:
    """Write source's columns plus prdtypecode and confidence to target, in the same row order."""
    indexed = _has_index_column(source)
    integer_codes = all(c.lstrip("-").isdigit() for c in model.classes)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    rows = 0
    try:
        reader = pd.read_csv(
            source, dtype=str, keep_default_na=False, na_filter=False, index_col=0 if indexed else None,
            chunksize=chunk_rows, encoding="utf-8",
        )  # fmt: skip
        with reader, partial.open("w", encoding="utf-8", newline="") as out:
            for chunk in reader:
                descriptions = chunk["description"].tolist() if "description" in chunk else [""] * len(chunk)
                proba = model.predict_proba(chunk["designation"].tolist(), descriptions)
                best = proba.argmax(axis=1)
                codes = [model.classes[i] for i in best]
                chunk["prdtypecode"] = [int(c) for c in codes] if integer_codes else codes
                chunk["confidence"] = proba[range(len(best)), best].round(6)
                chunk.to_csv(out, header=rows == 0, index=indexed)
                rows += len(chunk)
                progress.report("predict", rows, None)
    except UnicodeDecodeError as exc:
        partial.unlink(missing_ok=True)
        raise ValidationError(
            str(source), f"bytes that are not UTF-8 ({exc.reason}); save the file as UTF-8"
        ) from None
    except pd.errors.ParserError as exc:
        partial.unlink(missing_ok=True)
        raise ValidationError(str(source), f"not a readable CSV: {exc}") from None
    partial.replace(target)  # the output appears whole or not at all
    return ScoringResult(input=str(source), output=str(target), rows=rows, model_version=version)
