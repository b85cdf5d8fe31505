"""Plotly figures of the Datasets page; pure functions of a table's profile, no Streamlit calls."""

from __future__ import annotations

import itertools

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from rakuten_mlops.tables.models import ColumnProfile, TableProfile, TargetProfile


def _tight(figure: go.Figure, height: int = 300) -> go.Figure:
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure


def column_types(profile: TableProfile) -> go.Figure:
    """How many columns of each inferred type."""
    frame = pd.DataFrame({"type": list(profile.types), "columns": list(profile.types.values())})
    figure = px.bar(
        frame.sort_values("columns"), x="columns", y="type", orientation="h", title="Column types"
    )
    return _tight(figure.update_yaxes(title=None), 260)


def missingness(profile: TableProfile) -> go.Figure:
    """Share of missing values per column, most missing first."""
    frame = pd.DataFrame(
        [{"column": c.name, "missing": c.missing_share, "rows": c.missing} for c in profile.columns]
    )
    frame = frame.sort_values("missing", ascending=False)
    figure = px.bar(
        frame,
        x="missing",
        y="column",
        orientation="h",
        hover_data=["rows"],
        title="Missing values",
        range_x=[0, 1],
    )
    figure.update_xaxes(tickformat=".0%")
    return _tight(figure.update_yaxes(autorange="reversed", title=None), max(260, 22 * len(frame)))


def distribution(column: ColumnProfile) -> go.Figure:
    """A numeric column's histogram, or the counts of its most frequent values."""
    if column.histogram is not None:
        edges, counts = column.histogram.edges, column.histogram.counts
        centers = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
        widths = [b - a for a, b in itertools.pairwise(edges)]
        figure = go.Figure(go.Bar(x=centers, y=counts, width=widths, name=column.name))
        figure.update_layout(title=f"{column.name}: distribution", bargap=0.02)
        return _tight(figure)
    frame = pd.DataFrame(
        [v.model_dump() for v in column.top_values] or [{"value": "(none)", "count": 0, "share": 0.0}]
    )
    figure = px.bar(
        frame,
        x="count",
        y="value",
        orientation="h",
        hover_data=["share"],
        title=f"{column.name}: most frequent values",
    )
    return _tight(figure.update_yaxes(autorange="reversed", title=None, type="category"))


def target_associations(profile: TableProfile) -> go.Figure:
    """Each feature's association with the target: Cramér's V, and how far the feature alone beats chance."""
    target = profile.target
    chance = 1 / len(target.classes) if target is not None and target.classes else 0.0
    rows = []
    for c in profile.columns:
        if c.target_association is not None:
            rows.append({"column": c.name, "measure": "Cramér's V", "value": c.target_association})
        if c.predictive_score is not None:  # balanced accuracy (0 at chance, here) or R²
            skill = max(0.0, (c.predictive_score - chance) / (1 - chance))
            rows.append(
                {"column": c.name, "measure": "alone, held out, above chance", "value": round(skill, 4)}
            )
    frame = pd.DataFrame(rows or [{"column": "(none)", "measure": "Cramér's V", "value": 0.0}])
    order = frame.groupby("column")["value"].max().sort_values(ascending=False).index.tolist()
    figure = px.bar(
        frame, x="value", y="column", color="measure", barmode="group", orientation="h", title="Association with the target",
        range_x=[0, 1.05], category_orders={"column": order},
    )  # fmt: skip
    return _tight(figure.update_yaxes(title=None), max(280, 26 * len(order)))


def class_balance(target: TargetProfile) -> go.Figure:
    """Rows per class of a classification target."""
    frame = pd.DataFrame([v.model_dump() for v in target.classes])
    figure = px.bar(
        frame, x="value", y="count", hover_data=["share"], title=f"{target.column}: rows per class"
    )
    return _tight(figure.update_xaxes(type="category", title=None), 260)
