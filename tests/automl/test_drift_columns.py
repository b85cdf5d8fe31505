"""Which columns of a table model a drift check tests, and how: read as the workbench reads them."""

from __future__ import annotations

from types import SimpleNamespace

from rakuten_mlops.automl.drift import column_kinds
from rakuten_mlops.tables.samples import messy_frame


def test_dates_written_as_text_are_left_out_with_the_reason_and_numbers_as_text_are_numbers() -> None:
    frame = messy_frame(300, seed=1)  # signup_date as "25/05/2023", visits as text with "inconnu"
    model = SimpleNamespace(
        columns=["age", "plan", "visits", "signup_date", "comment"], classes=["non", "oui"]
    )
    kinds, skipped, texts = column_kinds(frame, model)  # type: ignore[arg-type]
    assert skipped == {"signup_date": "dates move on with time: a date column is not tested for drift"}
    assert (kinds["age"], kinds["visits"], kinds["plan"]) == ("numerical", "numerical", "categorical")
    assert texts == ["comment"] and kinds["comment length"] == "numerical"
    assert kinds["prediction"] == "categorical" and "signup_date" not in kinds
