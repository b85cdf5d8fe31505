"""Tests for the synthetic Rakuten listings generator."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from rakuten_mlops.data import sample_vocab
from rakuten_mlops.data.categories import rakuten_categories
from rakuten_mlops.data.sample import CHUNK_ROWS, generate_listings, write_rakuten_files

COLUMNS = ["designation", "description", "productid", "imageid", "prdtypecode"]
DRIFT_TOKENS = {w for words in sample_vocab.DRIFT_CORE.values() for w in words} | set(
    sample_vocab.DRIFT_GENERIC
)


@pytest.fixture(scope="module")
def normal() -> pd.DataFrame:
    return generate_listings(30_000, seed=7)


@pytest.fixture(scope="module")
def drifted() -> pd.DataFrame:
    return generate_listings(20_000, seed=7, drift=True)


def _text(frame: pd.DataFrame) -> pd.Series:
    return frame["designation"] + " " + frame["description"]


def _tokens(frame: pd.DataFrame) -> pd.Series:
    """Lower-cased whitespace tokens per row, HTML tags removed."""
    return _text(frame).str.replace(r"<[^>]+>", " ", regex=True).str.lower().str.split()


def _vocabulary(frame: pd.DataFrame) -> set[str]:
    """Every lower-cased whitespace token of a frame, HTML tags removed."""
    return set(" ".join(_text(frame).tolist()).lower().replace("<", " <").replace(">", "> ").split())


def _distribution(frame: pd.DataFrame) -> pd.Series:
    codes = [c.code for c in rakuten_categories()]
    return frame["prdtypecode"].value_counts(normalize=True).reindex(codes, fill_value=0.0)


def test_same_seed_gives_identical_frames_and_other_seed_differs() -> None:
    a = generate_listings(2_000, seed=5)
    pd.testing.assert_frame_equal(a, generate_listings(2_000, seed=5))
    pd.testing.assert_frame_equal(
        generate_listings(500, seed=5, drift=True), generate_listings(500, seed=5, drift=True)
    )
    b = generate_listings(2_000, seed=6)
    assert (a["designation"] != b["designation"]).mean() > 0.95
    assert not a["productid"].equals(b["productid"])


@pytest.mark.parametrize("rows", [0, 1, 1_234, CHUNK_ROWS + 3])
def test_columns_dtypes_and_row_count(rows: int) -> None:
    frame = generate_listings(rows, seed=1)
    assert list(frame.columns) == COLUMNS
    assert len(frame) == rows
    assert isinstance(frame.index, pd.RangeIndex)
    for column in ("productid", "imageid", "prdtypecode"):
        assert frame[column].dtype == np.int64
    for column in ("designation", "description"):
        assert pd.api.types.is_string_dtype(frame[column])
        assert frame[column].notna().all()
    assert (frame["designation"].str.strip().str.len() > 0).all()


def test_negative_rows_rejected() -> None:
    with pytest.raises(ValueError):
        generate_listings(-1)


def test_ids_are_unique_large_positive_integers(normal: pd.DataFrame) -> None:
    for column in ("productid", "imageid"):
        assert normal[column].is_unique
        assert normal[column].min() >= 100_000
        assert normal[column].max() < 2**32


def test_every_code_appears_with_real_proportions(normal: pd.DataFrame) -> None:
    cats = rakuten_categories()
    expected = pd.Series({c.code: c.train_rows for c in cats}, dtype=float)
    expected /= expected.sum()
    observed = _distribution(normal)
    assert (observed > 0).all()
    assert set(normal["prdtypecode"].unique()) == set(expected.index)
    assert observed[2583] == pytest.approx(expected[2583], abs=0.01)
    assert observed.idxmax() == 2583
    assert 0.5 * (observed - expected).abs().sum() < 0.03


def test_description_emptiness_and_html(normal: pd.DataFrame) -> None:
    description = normal["description"]
    assert 0.30 <= (description == "").mean() <= 0.40
    filled = description[description != ""]
    assert filled.str.startswith("<p>").mean() > 0.2
    assert filled.str.contains("<br />", regex=False).any()
    assert filled.str.contains("&eacute;", regex=False).any()
    assert filled.str.contains("&amp;", regex=False).any()
    assert not filled.str.contains("&amp;amp;", regex=False).any()


def test_listings_carry_noise_and_shared_vocabulary(normal: pd.DataFrame) -> None:
    tokens = _tokens(normal)
    has = lambda words: tokens.map(lambda ts: not set(words).isdisjoint(ts))  # noqa: E731
    assert has({"mit", "für", "kinder", "neu"}).mean() > 0.02
    assert _text(normal).str.contains(r"Réf\. \d[A-Z]-\d+|EAN 3\d{12}", regex=True).mean() > 0.05
    assert normal["designation"].str.contains("  ", regex=False).mean() > 0.01
    assert normal["designation"].str.contains(r"\b[A-ZÉ]{4,}\b", regex=True).mean() > 0.05
    books = normal["prdtypecode"].isin([10, 2280, 2403, 2705])
    shared = has({"livre", "roman", "tome", "revue"})
    assert shared[books].mean() > 0.3
    assert (normal[books & shared]["prdtypecode"].nunique()) == 4


def test_tfidf_linear_model_is_good_but_not_perfect() -> None:
    frame = generate_listings(12_000, seed=11)
    x_train, x_test, y_train, y_test = train_test_split(
        _text(frame), frame["prdtypecode"], test_size=0.2, random_state=0, stratify=frame["prdtypecode"]
    )
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    model = SGDClassifier(random_state=0).fit(vectorizer.fit_transform(x_train), y_train)
    score = f1_score(y_test, model.predict(vectorizer.transform(x_test)), average="weighted")
    assert 0.70 <= score <= 0.93


def test_drift_batch_shifts_priors_vocabulary_and_length(normal: pd.DataFrame, drifted: pd.DataFrame) -> None:
    total_variation = 0.5 * (_distribution(normal) - _distribution(drifted)).abs().sum()
    assert total_variation > 0.15
    assert not DRIFT_TOKENS & _vocabulary(normal)
    assert len(DRIFT_TOKENS & _vocabulary(drifted)) > 0.9 * len(DRIFT_TOKENS)
    pattern = r"(?<!\S)(?:" + "|".join(re.escape(w) for w in sorted(DRIFT_TOKENS)) + r")(?!\S)"
    assert drifted["designation"].str.lower().str.contains(pattern, regex=True).mean() > 0.1
    assert _text(drifted).str.len().mean() > 1.8 * _text(normal).str.len().mean()
    assert (drifted["description"] == "").mean() < 0.2


def test_write_rakuten_files_round_trip(tmp_path: Path) -> None:
    frame = generate_listings(800, seed=3)
    x_path, y_path = tmp_path / "raw" / "X_train.csv", tmp_path / "raw" / "Y_train.csv"
    write_rakuten_files(frame, x_path, y_path)
    assert x_path.read_text(encoding="utf-8").splitlines()[0] == ",designation,description,productid,imageid"
    assert y_path.read_text(encoding="utf-8").splitlines()[0] == ",prdtypecode"
    x = pd.read_csv(x_path, index_col=0)
    y = pd.read_csv(y_path, index_col=0)
    assert list(x.columns) == ["designation", "description", "productid", "imageid"]
    assert list(x.index) == list(range(len(frame)))
    assert x["designation"].tolist() == frame["designation"].tolist()
    empty = frame["description"] == ""
    assert x["description"][empty.to_numpy()].isna().all()
    assert x["description"][~empty.to_numpy()].tolist() == frame["description"][~empty].tolist()
    assert x["productid"].tolist() == frame["productid"].tolist()
    assert y["prdtypecode"].tolist() == frame["prdtypecode"].tolist()
