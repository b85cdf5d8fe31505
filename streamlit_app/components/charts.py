"""Plotly figures of the control room; pure functions of frames, no Streamlit calls."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from rakuten_mlops.data.categories import category_label
from rakuten_mlops.data.profiling import DataProfile


def _tight(figure: go.Figure, height: int = 320) -> go.Figure:
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure


# Tick labels by the spacing plotly picks (milliseconds): checks seconds apart read as seconds, not
# as the same minute repeated; days apart, as dates.
TIME_TICKS = (
    ((None, 1_000), "%H:%M:%S.%L"),
    ((1_000, 60_000), "%H:%M:%S"),
    ((60_000, 86_400_000), "%d %b %H:%M"),
    ((86_400_000, None), "%d %b %Y"),
)


def _time_axis(figure: go.Figure, times: pd.Series) -> go.Figure:
    """Readable time ticks at any span; a single point gets an hour either side instead of ms ticks."""
    stamps = pd.to_datetime(times, utc=True).dropna()
    figure.update_xaxes(
        tickformat="%d %b %H:%M",
        tickformatstops=[{"dtickrange": list(span), "value": fmt} for span, fmt in TIME_TICKS],
        title=None,
    )
    if stamps.nunique() == 1:
        only = stamps.iloc[0]
        figure.update_xaxes(range=[only - pd.Timedelta(hours=1), only + pd.Timedelta(hours=1)])
    return figure


def class_distribution(profile: DataProfile) -> go.Figure:
    """Listings per class, largest first, named by category."""
    frame = pd.DataFrame([c.model_dump() for c in profile.classes])
    frame["class"] = frame["label"] + " " + frame["name"].fillna("")
    figure = px.bar(
        frame, x="rows", y="class", orientation="h", title="Class distribution", hover_data=["share"]
    )
    figure.update_yaxes(autorange="reversed", title=None)
    return _tight(figure, max(320, 18 * len(frame)))


def length_histogram(lengths: pd.DataFrame, column: str) -> go.Figure:
    """Histogram of one text field's length in characters."""
    figure = px.histogram(lengths, x=column, nbins=60, title=f"{column} length (characters)")
    return _tight(figure.update_layout(bargap=0.05))


def hourly_traffic(hourly: pd.DataFrame) -> go.Figure:
    """Predictions per hour."""
    return _tight(px.bar(hourly, x="hour", y="predictions", title="Predictions per hour (UTC)"), 260)


def drift_history(frame: pd.DataFrame) -> go.Figure:
    """Share of drifted descriptors per check, with the threshold and the checks that drifted."""
    figure = px.line(frame, x="created_at", y="drift_share", markers=True, title="Drift share per check")
    drifted = frame[frame["drift_detected"]]
    figure.add_scatter(
        x=drifted["created_at"],
        y=drifted["drift_share"],
        mode="markers",
        name="drift detected",
        marker={"color": "red", "size": 12},
    )
    figure.add_scatter(
        x=frame["created_at"], y=frame["threshold"], mode="lines", name="threshold", line={"dash": "dash"}
    )
    return _tight(_time_axis(figure.update_yaxes(range=[0, 1.05]), frame["created_at"]))


def _code_order(labels: list[Any]) -> list[Any]:
    """Codes as numbers (10, 40, 50, ..., 2905), then any label that is not a number, alphabetically."""
    return sorted(labels, key=lambda v: (0, int(str(v)), "") if str(v).isdigit() else (1, 0, str(v)))


def _named(label: Any) -> str:
    name = category_label(int(str(label))) if str(label).isdigit() else None
    return f"{label} {name}" if name else str(label)


def confusion_heatmap(confusion: pd.DataFrame) -> go.Figure:
    """Row-normalised confusion matrix: true labels down, predicted across, ordered by code, with names."""
    order = _code_order(list(dict.fromkeys([*confusion.index, *confusion.columns])))
    full = confusion.reindex(index=order, columns=order, fill_value=0)
    rates = full.div(full.sum(axis=1).clip(lower=1), axis=0)
    names = [_named(label) for label in order]
    rates.index, rates.columns = names, names
    figure = px.imshow(
        rates, color_continuous_scale="Blues", zmin=0, zmax=1, labels={"x": "predicted", "y": "true", "color": "share"},
        title="Confusion matrix (row-normalised, test split)", aspect="auto",
    )  # fmt: skip
    figure.update_xaxes(type="category", tickangle=-60)
    figure.update_yaxes(type="category")
    return _tight(figure, 620)


def per_class_f1(report: pd.DataFrame) -> go.Figure:
    """F1 per class on the test split, worst first."""
    frame = report.sort_values("f1")
    figure = px.bar(
        frame,
        x="f1",
        y="label",
        orientation="h",
        hover_data=["precision", "recall", "support"],
        title="F1 per class",
    )
    figure.update_yaxes(type="category", title=None)
    return _tight(figure, max(320, 18 * len(frame)))


def metric_comparison(runs: pd.DataFrame, metrics: list[str]) -> go.Figure:
    """The chosen metrics of each run side by side."""
    frame = runs.melt(id_vars=["run_name"], value_vars=metrics, var_name="metric", value_name="value")
    figure = px.bar(
        frame,
        x="run_name",
        y="value",
        color="metric",
        barmode="group",
        title="Runs compared on the test split",
    )
    return _tight(figure.update_xaxes(title=None))


def version_metrics(versions: pd.DataFrame) -> go.Figure:
    """Weighted F1 and accuracy of each registered version."""
    frame = versions.melt(
        id_vars=["version"], value_vars=["weighted_f1", "accuracy"], var_name="metric", value_name="value"
    )
    figure = px.bar(
        frame, x="version", y="value", color="metric", barmode="group", title="Test metrics per version"
    )
    return _tight(figure.update_xaxes(type="category"), 280)


def champion_timeline(history: list[dict[str, Any]]) -> go.Figure:
    """Which version was champion when: one step per promotion or rollback."""
    frame = pd.DataFrame(history)
    figure = px.line(
        frame,
        x="at",
        y="version",
        markers=True,
        line_shape="hv",
        hover_data=["action", "reason"],
        title="Champion history",
    )
    return _tight(_time_axis(figure.update_yaxes(type="category"), frame["at"]), 260)


def top_k(candidates: pd.DataFrame) -> go.Figure:
    """Probability of the best candidate classes."""
    figure = px.bar(
        candidates, x="probability", y="class", orientation="h", title="Top candidates", range_x=[0, 1]
    )
    return _tight(figure.update_yaxes(autorange="reversed", title=None), 260)


def contributions(tokens: pd.DataFrame) -> go.Figure:
    """Words that pushed the listing towards the predicted class."""
    frame = tokens.assign(effect=["towards" if w >= 0 else "away from" for w in tokens["weight"]])
    colors = {"towards": "#1f77b4", "away from": "#d62728"}
    figure = px.bar(
        frame,
        x="weight",
        y="token",
        color="effect",
        orientation="h",
        color_discrete_map=colors,
        title="Explaining tokens",
    )
    return _tight(figure.update_yaxes(autorange="reversed", title=None), 260)


def live_history(history: pd.DataFrame) -> go.Figure:
    """Request rate, latency and errors over the last minutes, one panel each."""
    figure = px.line(history, x="time", y="value", facet_row="metric", title="Live traffic (Prometheus)")
    figure.update_yaxes(matches=None, title=None)
    figure.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    return _tight(figure, 520)
