"""The chosen steps as a scikit-learn pipeline: applied to new rows, it gives exactly the output of the run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rakuten_mlops.errors import DataError
from rakuten_mlops.tables.pipeline import (
    Preprocessed,
    choose_steps,
    load_pipeline,
    preprocess_frame,
    save_pipeline,
)
from rakuten_mlops.tables.plan import Step
from rakuten_mlops.tables.profiling import profile_frame
from rakuten_mlops.tables.reading import read_frame
from rakuten_mlops.tables.runlog import RunLog
from rakuten_mlops.tables.samples import bundled_table
from rakuten_mlops.tables.suggestions import suggest, suggest_steps


@pytest.fixture(scope="module")
def messy_steps(messy_frame: pd.DataFrame) -> list[Step]:
    return suggest_steps(profile_frame(messy_frame, "churned"))


@pytest.fixture(scope="module")
def done(messy_frame: pd.DataFrame, messy_steps: list[Step]) -> Preprocessed:
    return preprocess_frame(
        messy_frame, "churned", choose_steps(messy_steps, None), RunLog(None, "preprocess")
    )


def unique_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~pd.util.hash_pandas_object(frame, index=False).duplicated().to_numpy()]


def test_the_saved_pipeline_applied_to_the_rows_read_again_equals_the_output(
    done: Preprocessed, messy: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    pipeline = load_pipeline(save_pipeline(done.pipeline, tmp_path / "pipeline.joblib"))
    again = unique_rows(read_frame(messy[0])).reset_index(
        drop=True
    )  # new rows, as serving reads them from a file
    out = pipeline.transform(again.drop(columns=["churned"]))
    pd.testing.assert_frame_equal(out, done.frame.drop(columns=["churned"]), check_exact=True)
    assert done.frame["churned"].tolist() == again["churned"].tolist()
    some = again.sample(37, random_state=1)  # a few rows, shuffled: nothing may be learnt from the rows given
    expected = done.frame.drop(columns=["churned"]).loc[some.index]
    pd.testing.assert_frame_equal(pipeline.transform(some.drop(columns=["churned"])), expected, rtol=1e-9)


def test_a_row_comes_out_the_same_alone_as_in_a_batch(done: Preprocessed, messy_frame: pd.DataFrame) -> None:
    rows = unique_rows(messy_frame).drop(columns=["churned"]).head(6)
    batch = done.pipeline.transform(rows)
    alone = pd.concat([done.pipeline.transform(rows.iloc[[i]]) for i in range(len(rows))])
    pd.testing.assert_frame_equal(alone, batch, rtol=1e-9)


def test_records_with_values_as_text_get_the_same_preprocessing(
    done: Preprocessed, messy_frame: pd.DataFrame
) -> None:
    rows = unique_rows(messy_frame).drop(columns=["churned"]).head(4)
    as_text = rows.astype(object).where(rows.notna(), None).map(lambda v: None if v is None else str(v))
    pd.testing.assert_frame_equal(done.pipeline.transform(as_text), done.pipeline.transform(rows), rtol=1e-9)


def test_the_output_is_ready_for_training(done: Preprocessed, messy_frame: pd.DataFrame) -> None:
    features = done.frame.drop(columns=["churned"])
    assert len(done.frame) == len(unique_rows(messy_frame))
    assert all(pd.api.types.is_numeric_dtype(t) for t in features.dtypes), features.dtypes
    assert not features.isna().any().any()
    assert {"customer_id", "account_status", "source"}.isdisjoint(features.columns)
    assert {"signup_date_year", "plan_basic"} <= set(features.columns)
    assert done.class_weights is not None and done.class_weights["oui"] > done.class_weights["non"]


def test_every_change_is_a_structured_log_line(messy_frame: pd.DataFrame, messy_steps: list[Step]) -> None:
    log = RunLog(None, "preprocess")
    preprocess_frame(
        messy_frame, "churned", choose_steps(messy_steps, ["impute-age", "drop_duplicates"]), log
    )
    assert all({"time", "level", "source", "message"} <= set(line) for line in log.lines)
    impute = next(line for line in log.lines if line.get("step") == "impute-age")
    missing = unique_rows(messy_frame)["age"].isna().sum()
    assert impute["rows_affected"] == missing
    assert impute["values"]["fill_value"] == pytest.approx(unique_rows(messy_frame)["age"].mean())
    assert next(line for line in log.lines if line.get("step") == "drop_duplicates")["rows_affected"] == 8


def test_a_step_that_needs_a_column_an_earlier_step_dropped_is_refused(
    messy_frame: pd.DataFrame, messy_steps: list[Step]
) -> None:
    steps = choose_steps(messy_steps, ["impute-age"])
    drop_age = Step(id="drop-age", type="drop_column", columns=["age"], confidence=0.5, rationale="test")
    with pytest.raises(
        DataError, match=r"step 'impute-age' uses column 'age', but step 'drop-age' removes it"
    ):
        preprocess_frame(messy_frame, "churned", [drop_age, *steps], RunLog(None, "preprocess"))


def test_unknown_step_ids_are_refused_listing_the_known_ones(messy_steps: list[Step]) -> None:
    with pytest.raises(DataError, match=r"no suggested step has the id 'scale-everything'.*drop-customer_id"):
        choose_steps(messy_steps, ["scale-everything"])


def test_rows_without_a_column_the_pipeline_needs_are_refused_naming_it(
    done: Preprocessed, messy_frame: pd.DataFrame
) -> None:
    with pytest.raises(DataError, match=r"lack the column.*income"):
        done.pipeline.transform(messy_frame.drop(columns=["churned", "income"]).head(2))


@pytest.mark.parametrize("name", ["wine", "diabetes"])
def test_bundled_tables_round_trip_through_their_pipeline(name: str) -> None:
    table = bundled_table(name)  # type: ignore[arg-type]
    steps = suggest_steps(profile_frame(table, "target"))
    assert "scale" in {s.id for s in steps}
    result = preprocess_frame(table, "target", steps, RunLog(None, "preprocess"))
    out = result.pipeline.transform(table.drop(columns=["target"]))
    pd.testing.assert_frame_equal(out.reset_index(drop=True), result.frame.drop(columns=["target"]))
    assert result.frame.drop(columns=["target"]).mean().abs().max() < 1e-9  # standardised


TEXT = pd.StringDtype(na_value=np.nan)
ODD_TABLES = {
    "one row": pd.DataFrame({"a": [1.0], "y": ["x"]}),
    "a column all missing": pd.DataFrame({"a": [np.nan] * 30, "b": np.arange(30.0), "y": [0, 1] * 15}),
    "no target value at all": pd.DataFrame({"a": np.arange(30.0), "y": pd.Series([None] * 30, dtype=TEXT)}),
    "infinities": pd.DataFrame({"a": [1.0, np.inf, -np.inf, 2.0] * 10, "y": [0, 1] * 20}),
    "unicode names": pd.DataFrame({"prix (€)": np.arange(40.0), "catégorie": pd.Series(["a", "b"] * 20, dtype=TEXT), "y": [0, 1, 1, 0] * 10}),
    "unreadable dates": pd.DataFrame({"d": pd.Series([f"2020-01-{i % 28 + 1:02d}" if i % 5 else "n/a" for i in range(60)], dtype=TEXT), "y": np.arange(60.0)}),
    "python objects": pd.DataFrame({"m": pd.Series([1, "a", 2.5, None] * 10, dtype=object), "y": [0, 1] * 20}),
}  # fmt: skip


@pytest.mark.parametrize("name", list(ODD_TABLES))
def test_odd_small_tables_go_through_every_stage(name: str) -> None:
    table = ODD_TABLES[name]
    steps = suggest(table, profile_frame(table, "y"))
    result = preprocess_frame(table, "y", steps, RunLog(None, "preprocess"))
    out = result.pipeline.transform(table.drop(columns=["y"]))
    assert list(out.columns) == [c for c in result.frame.columns if c != "y"]
    numbers = out.select_dtypes("number").to_numpy()
    assert np.isfinite(numbers[~np.isnan(numbers)]).all()  # infinities never reach a model
