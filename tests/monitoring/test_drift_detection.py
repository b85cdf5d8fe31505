"""The descriptor drift check: detects injected drift, stays quiet in distribution, applies our threshold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rakuten_mlops.errors import DataError
from rakuten_mlops.monitoring.descriptors import DESCRIPTOR_COLUMNS, compute_descriptors
from rakuten_mlops.monitoring.drift import check_drift, compare_descriptors
from rakuten_mlops.training.model import TextClassifierModel


def test_injected_drift_is_detected_and_the_html_report_written(
    drift_model: TextClassifierModel,
    reference_listings: pd.DataFrame,
    drifted_listings: pd.DataFrame,
    tmp_path: Path,
) -> None:
    result = check_drift(reference_listings, drifted_listings, drift_model, report_dir=tmp_path / "reports")
    assert result.drift_detected
    assert result.drift_share >= 0.5
    # The generator lengthens texts and adds unseen product words: those must be among the culprits.
    assert {"description_chars", "oov_share"} <= set(result.drifted_features)
    assert result.reference_rows == len(reference_listings) and result.current_rows == len(drifted_listings)
    assert {f.name for f in result.features} == set(DESCRIPTOR_COLUMNS)
    assert result.report_path is not None and result.report_path.parent == tmp_path / "reports"
    html = result.report_path.read_text(encoding="utf-8")
    assert "<html" in html.lower() and "oov_share" in html
    details = result.details()
    assert details["features"]["oov_share"]["drifted"] is True
    assert details["drifted_features"] == result.drifted_features


def test_an_in_distribution_sample_is_quiet(
    drift_model: TextClassifierModel, reference_listings: pd.DataFrame, same_listings: pd.DataFrame
) -> None:
    result = check_drift(reference_listings, same_listings, drift_model)
    assert not result.drift_detected
    assert result.drift_share < 0.5
    assert result.report_path is None
    # Not merely under the dataset threshold: every descriptor's distance is well below its own.
    assert all(f.score < f.threshold for f in result.features), result.scores


def _shifted(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for column in columns:
        out[column] = out[column] * 3 + out[column].std() * 2
    return out


def test_the_dataset_verdict_compares_the_drifted_share_with_our_threshold(
    drift_model: TextClassifierModel, reference_listings: pd.DataFrame, same_listings: pd.DataFrame
) -> None:
    reference = compute_descriptors(reference_listings, drift_model)
    current = compute_descriptors(same_listings, drift_model)
    current = _shifted(current, ["designation_chars", "description_chars", "confidence"])  # 3 of 7
    strict = compare_descriptors(reference, current, threshold=0.5)
    lenient = compare_descriptors(reference, current, threshold=0.4)
    assert sorted(strict.drifted_features) == ["confidence", "description_chars", "designation_chars"]
    assert strict.drift_share == pytest.approx(3 / 7) == lenient.drift_share
    assert not strict.drift_detected and lenient.drift_detected


def test_a_descriptor_without_values_is_skipped_not_fatal(
    drift_model: TextClassifierModel, reference_listings: pd.DataFrame, same_listings: pd.DataFrame
) -> None:
    reference = compute_descriptors(reference_listings.head(300), drift_model)
    current = compute_descriptors(same_listings.head(300), drift_model)
    reference["oov_share"] = np.nan  # what a hashing featurizer (no vocabulary) gives
    result = compare_descriptors(reference, current)
    assert result.skipped == ("oov_share",)
    assert "oov_share" not in {f.name for f in result.features} and len(result.features) == 6


def test_descriptors_agree_with_the_model_and_the_texts(drift_model: TextClassifierModel) -> None:
    terms = (name.rsplit(":", 1)[-1] for name in drift_model.featurizer.get_feature_names())
    vocabulary_word = next(t for t in terms if t.isalpha() and len(t) >= 3)
    listings = pd.DataFrame(
        {
            "designation": [
                "Zorblax Quixotrope Vundermix",
                f"{vocabulary_word} {vocabulary_word}",
                "",
                "Piscine &amp;lt;b&amp;gt; <b>Pompe</b> Été",
            ],
            "description": [None, f"<p>{vocabulary_word}</p>", "", "Filtre &eacute;t&eacute; &amp; chlore"],
        }
    )
    found = compute_descriptors(listings, drift_model)
    assert list(found.columns) == list(DESCRIPTOR_COLUMNS)
    assert found["oov_share"].tolist()[:3] == [1.0, 0.0, 0.0]  # unknown words, known words, no token
    assert found["designation_chars"].tolist() == [len(t) for t in listings["designation"]]
    descriptions = listings["description"].fillna("").tolist()
    assert found["description_chars"].tolist() == [len(t) for t in descriptions]
    assert found["designation_words"].tolist() == [3, 2, 0, 4]
    assert found["description_words"].tolist() == [0, 1, 0, 4]
    # Exactly what the model answers on the raw texts (the check hands it pre-cleaned texts).
    designations = listings["designation"].tolist()
    proba = drift_model.predict_proba(designations, descriptions)
    assert found["predicted_class"].tolist() == drift_model.predict(designations, descriptions)
    np.testing.assert_array_equal(found["confidence"].to_numpy(), proba.max(axis=1))


def test_descriptors_match_the_model_on_generated_listings(
    drift_model: TextClassifierModel, drifted_listings: pd.DataFrame
) -> None:
    sample = drifted_listings.head(400)  # HTML, entities, accents, empty descriptions
    found = compute_descriptors(sample, drift_model)
    proba = drift_model.predict_proba(sample["designation"].tolist(), sample["description"].tolist())
    np.testing.assert_array_equal(found["confidence"].to_numpy(), proba.max(axis=1))
    assert (found["oov_share"] > 0).any() and found["oov_share"].between(0, 1).all()


def test_too_few_rows_or_a_missing_column_are_refused_clearly(
    drift_model: TextClassifierModel, reference_listings: pd.DataFrame
) -> None:
    with pytest.raises(DataError, match="the current window holds 12 rows; a drift check needs at least 100"):
        check_drift(reference_listings, reference_listings.head(12), drift_model)
    with pytest.raises(DataError, match="reference sample has no description column"):
        check_drift(reference_listings[["designation"]], reference_listings, drift_model)
    with pytest.raises(DataError, match="threshold"):
        compare_descriptors(pd.DataFrame(), pd.DataFrame(), threshold=0.0)


@pytest.mark.parametrize("rows", [300, 1_200])  # p-value tests below 1,000 rows, distances above
def test_the_quick_verdicts_are_those_of_evidentlys_html_report(
    drift_model: TextClassifierModel,
    reference_listings: pd.DataFrame,
    same_listings: pd.DataFrame,
    drifted_listings: pd.DataFrame,
    tmp_path: Path,
    rows: int,
) -> None:
    reference = compute_descriptors(reference_listings.head(rows), drift_model)
    # Half in distribution, half shifted: some descriptors drift, some do not.
    mixed = pd.concat([same_listings.head(rows // 2), drifted_listings.head(rows // 2)], ignore_index=True)
    current = compute_descriptors(mixed, drift_model)
    quick = compare_descriptors(reference, current)
    reported = compare_descriptors(reference, current, report_dir=tmp_path)
    assert quick.report_path is None and reported.report_path is not None
    for fast, slow in zip(quick.features, reported.features, strict=True):
        assert (fast.name, fast.method, fast.drifted) == (slow.name, slow.method, slow.drifted)
        assert fast.score == pytest.approx(slow.score, rel=1e-6, abs=1e-9)
        assert fast.threshold == slow.threshold
    assert quick.drift_share == reported.drift_share
