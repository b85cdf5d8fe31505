"""Charts that read well: codes in numeric order with names, and time axes readable at any span."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from components import charts


def test_the_confusion_matrix_is_ordered_by_code_as_a_number_with_class_names() -> None:
    labels = ["2905", "10", "1280", "40"]  # the order an artifact may hold them in, as strings
    confusion = pd.DataFrame(1, index=labels, columns=labels[::-1])
    figure = charts.confusion_heatmap(confusion)
    heat = figure.data[0]
    assert [t.split(" ")[0] for t in heat.y] == ["10", "40", "1280", "2905"]
    assert list(heat.x) == list(heat.y) and heat.y[0].startswith("10 ") and len(heat.y[0]) > 3  # named
    assert heat.z.sum(axis=1).round(6).tolist() == [1.0] * 4  # row-normalised


def test_a_single_drift_check_gets_an_hour_either_side_not_millisecond_ticks() -> None:
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    one = pd.DataFrame(
        {"created_at": [at], "drift_share": [0.4], "drift_detected": [False], "threshold": [0.5]}
    )
    axis = charts.drift_history(one).layout.xaxis
    low, high = (pd.Timestamp(v) for v in axis.range)
    assert high - low == pd.Timedelta(hours=2) and axis.tickformat == "%d %b %H:%M"
    two = pd.concat([one, one.assign(created_at=[datetime(2026, 12, 2, tzinfo=UTC)])])
    assert charts.drift_history(two).layout.xaxis.range is None  # plotly's own range for real series


def test_checks_seconds_apart_are_labelled_with_seconds_and_days_apart_with_dates() -> None:
    axis = charts.drift_history(
        pd.DataFrame(
            {
                "created_at": pd.date_range("2026-12-01 17:07:00", periods=3, freq="2s", tz="UTC"),
                "drift_share": [0.0, 0.25, 0.75],
                "drift_detected": [False, False, True],
                "threshold": [0.5] * 3,
            }
        )
    ).layout.xaxis
    # Plotly picks the format whose tick-spacing range holds the spacing it chose (milliseconds).
    stops = {tuple(s.dtickrange): s.value for s in axis.tickformatstops}

    def label(spacing_ms: float) -> str:
        return next(
            fmt
            for (low, high), fmt in stops.items()
            if (low or 0) <= spacing_ms and (high is None or spacing_ms < high)
        )

    assert label(2_000) == "%H:%M:%S"  # ticks two seconds apart: 17:07:00, 17:07:02, ...
    assert label(30 * 60_000) == "%d %b %H:%M"
    assert label(7 * 86_400_000) == "%d %b %Y"
