"""Conversions between pandas frames and Arrow tables that keep every value, whatever its Python type."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa


def _as_text(value: Any) -> Any:
    return value if value is None or (isinstance(value, float) and value != value) else str(value)


def frame_to_arrow(frame: pd.DataFrame) -> pa.Table:
    """An Arrow table of the frame; a column mixing Python types (Excel, JSON) becomes text, never fails."""
    arrays = []
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        try:
            arrays.append(pa.Array.from_pandas(column))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            arrays.append(pa.Array.from_pandas(column.map(_as_text).astype("object"), type=pa.string()))
    return pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])


def arrow_to_frame(table: pa.Table) -> pd.DataFrame:
    """A pandas frame of the table: dates as datetime64, text as pandas strings."""
    frame: pd.DataFrame = table.to_pandas(date_as_object=False, split_blocks=True)
    return frame
