"""SHAP explanations of a table model: which columns matter overall, and why one row got its answer.

The `shap` library explains the fitted estimator on the columns the pipeline's preprocessing produces:
`TreeExplainer` for the forests and histogram boosting, `LinearExplainer` for the linear family, and
the sampled permutation explainer for k-NN. The first two see the columns the preprocessing makes;
the parts one column turned into (one-hot categories, TF-IDF words, date parts, missing-value flags)
are then added back together. The permutation explainer permutes the user's own columns against a
background sample of training rows (a handful of columns instead of thousands of features). Either
way every figure is per column of the user's table, and a row's contributions add up to the model's
output minus the base value.

What the values explain (`output`): a probability for the forests and the sampled explainer, the
log-odds for logistic regression and histogram boosting (their raw margin), the predicted value for
regression. For a classifier, a row is explained for the class the model predicted (the overview of
a binary one for its second class), and the global importance is the mean absolute contribution
over rows and classes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.pipeline import Pipeline

TREES = ("RandomForest", "ExtraTrees", "HistGradientBoosting")
GLOBAL_ROWS = 200  # rows explained for the global importance and the beeswarm
SAMPLED_ROWS = 100  # the same for the sampled explainer, which scores the model 2 x columns + 1 times a row
SAMPLED_BACKGROUND = 20  # rows each permutation's hidden columns are drawn from
SAMPLED = "permutation (sampled)"
DATASET_STEP = "dataset"  # the leading step of a model trained on a preprocessed dataset version
BACKGROUND_ROWS = 50  # training rows the linear and sampled explainers compare against


@dataclass(frozen=True)
class RowExplanation:
    """One row's answer and each column's contribution to it."""

    prediction: Any
    explained_class: str | None  # the class explained, for a classifier
    output: str  # "probability", "log-odds" or "value"
    base_value: float
    model_output: float  # base_value + sum(contributions)
    contributions: dict[str, float]  # column -> contribution, largest magnitude first


@dataclass(frozen=True)
class GlobalExplanation:
    """Mean absolute contribution per column (largest first), and the values behind the plots."""

    explainer: str
    output: str
    rows: int
    importance: dict[str, float]
    explained_class: str | None  # a binary classifier's overview speaks for its second class
    values: np.ndarray  # rows x columns, for each row's explained class
    data: pd.DataFrame  # the explained rows (columns of `importance`)


def _dense(matrix: Any) -> np.ndarray:
    return np.asarray(matrix.toarray() if sparse.issparse(matrix) else matrix, dtype=np.float64)


def feature_columns(model: Pipeline) -> tuple[list[str], list[str]]:
    """The preprocessed feature names, and the user's column each comes from (same order)."""
    columns = model.named_steps["columns"]
    names = [str(n) for n in columns.get_feature_names_out()]
    owners = []
    sources = {name: list(cols) for name, _, cols in columns.transformers_ if name != "remainder"}
    for feature in names:
        part, _, rest = feature.partition("__")
        candidates = sources.get(part, [])
        if len(candidates) == 1:
            owners.append(str(candidates[0]))
            continue
        rest = rest.removeprefix("missingindicator_")
        matches = [c for c in candidates if rest == str(c) or rest.startswith(f"{c}_")]
        owners.append(str(max(matches, key=lambda c: len(str(c)))) if matches else rest)
    return names, owners


class Explainer:
    """SHAP for one fitted pipeline (the `columns` step, then the `model` step).

    A model trained on a preprocessed dataset version starts with that version's steps (`dataset`):
    rows are passed through them first, and each row is explained per column the model reads.
    """

    def __init__(self, model: Pipeline, background: pd.DataFrame, seed: int = 0) -> None:
        import shap  # numba compiles on import: only when an explanation is asked for
        from sklearn.pipeline import Pipeline

        self._dataset = model.named_steps.get(DATASET_STEP)
        if self._dataset is not None:
            model = Pipeline(model.steps[1:])
            background = self._dataset.transform(background)
        self.model = model
        self.estimator = model.named_steps["model"]
        self.features, self.owners = feature_columns(model)
        self.columns = list(dict.fromkeys(self.owners))
        self.classes = [str(c) for c in getattr(self.estimator, "classes_", [])]
        sample = background.sample(n=min(BACKGROUND_ROWS, len(background)), random_state=seed)
        kind = type(self.estimator).__name__
        self._seed = seed
        if kind.startswith(TREES):
            self._shap: Any = shap.TreeExplainer(self.estimator)
            self.name = "tree"
            boosted = kind.startswith("HistGradientBoosting")
            self.output = "value" if not self.classes else ("log-odds" if boosted else "probability")
        elif hasattr(self.estimator, "coef_"):
            self._shap = shap.LinearExplainer(self.estimator, self._transform(sample))
            self.name = "linear"
            self.output = "log-odds" if self.classes else "value"
        else:
            # Model-agnostic: permutations of the user's own columns (a handful) rather than of the
            # thousands of features the preprocessing makes, against a small background sample.
            self.name = SAMPLED
            self.output = "probability" if self.classes else "value"
            self._background = sample.head(SAMPLED_BACKGROUND)
            self.features = self.owners = [str(c) for c in self.model.feature_names_in_]
            self.columns = list(self.features)
        # The column each feature adds to: a features x columns 0/1 matrix.
        index = {c: i for i, c in enumerate(self.columns)}
        self._fold = np.zeros((len(self.features), len(self.columns)))
        self._fold[np.arange(len(self.features)), [index[o] for o in self.owners]] = 1.0

    def _transform(self, rows: pd.DataFrame) -> np.ndarray:
        return _dense(self.model.named_steps["columns"].transform(rows))

    def _sampled(self, rows: pd.DataFrame) -> Any:
        """The permutation explainer on the rows' own columns, each coded as numbers for SHAP's masker."""
        import shap

        both = pd.concat([self._background, rows], ignore_index=True)
        columns = list(both.columns)
        coded, values = [], []
        for column in columns:
            codes, uniques = pd.factorize(both[column], use_na_sentinel=False)
            coded.append(codes.astype(np.float64))
            values.append(np.asarray(uniques, dtype=object))
        matrix = np.column_stack(coded)
        dtypes = both.dtypes

        def answer(codes: np.ndarray) -> np.ndarray:
            decoded = pd.DataFrame(
                {c: values[i][codes[:, i].astype(int)] for i, c in enumerate(columns)}
            ).astype(dtypes.to_dict())
            function = self.model.predict_proba if self.classes else self.model.predict
            return np.asarray(function(decoded))

        background = matrix[: len(self._background)]
        explainer = shap.explainers.Permutation(
            answer, shap.maskers.Independent(background, max_samples=len(background)), seed=self._seed
        )
        return explainer(matrix[len(self._background) :], max_evals=2 * len(columns) + 1, silent=True)

    def _raw(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature SHAP values (rows x features x outputs) and base values (rows x outputs)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.name == SAMPLED:
                found = self._sampled(rows[self.columns])
            else:
                found = self._shap(self._transform(rows))
        values = np.asarray(found.values, dtype=np.float64)
        base = np.asarray(found.base_values, dtype=np.float64)
        if values.ndim == 2:
            values = values[:, :, None]
        base = np.broadcast_to(base.reshape(len(rows), -1), (len(rows), values.shape[2]))
        return values, base

    def _output_index(self, predicted: np.ndarray) -> np.ndarray:
        """Which output explains each row: its predicted class (0 for regression or a single margin)."""
        if not self.classes:
            return np.zeros(len(predicted), dtype=int)
        position = {c: i for i, c in enumerate(self.classes)}
        return np.asarray([position[str(p)] for p in predicted])

    def _explain(
        self, rows: pd.DataFrame, positive: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per-column values of each row's explained output, their base values, predictions, all-output values.

        The explained output is the row's predicted class, or with `positive` (a binary classifier's
        overview) always the second class, so that one sign means one answer on every row.
        """
        values, base = self._raw(rows)
        predicted = self.model.predict(rows)
        chosen = self._output_index(predicted)
        if positive and len(self.classes) == 2:
            chosen = np.ones(len(rows), dtype=int)
        outputs = values.shape[2]
        if outputs == 1 and len(self.classes) == 2:
            # One margin for a binary classifier: it speaks for the second class; the first gets its opposite.
            sign = np.where(chosen == 1, 1.0, -1.0)
            per_row, per_base = values[:, :, 0] * sign[:, None], base[:, 0] * sign
        else:
            picked = np.minimum(chosen, outputs - 1)
            per_row = values[np.arange(len(rows)), :, picked]
            per_base = base[np.arange(len(rows)), picked]
        folded = per_row @ self._fold
        everything = np.einsum("rfo,fc->rco", values, self._fold)
        return folded, per_base, predicted, everything

    def _read(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Rows as the model's `columns` step reads them (through the dataset's steps, if any)."""
        return rows if self._dataset is None else self._dataset.transform(rows)

    def explain_row(self, row: pd.DataFrame) -> RowExplanation:
        """The contributions of one row (a one-row frame of the model's input columns)."""
        folded, base, predicted, _ = self._explain(self._read(row.iloc[:1]))
        contributions = dict(zip(self.columns, folded[0].tolist(), strict=True))
        ordered = dict(sorted(contributions.items(), key=lambda kv: -abs(kv[1])))
        return RowExplanation(
            prediction=predicted[0].item() if hasattr(predicted[0], "item") else predicted[0],
            explained_class=str(predicted[0]) if self.classes else None,
            output=self.output,
            base_value=float(base[0]),
            model_output=float(base[0] + folded[0].sum()),
            contributions=ordered,
        )

    def explain_global(self, rows: pd.DataFrame, seed: int = 0) -> GlobalExplanation:
        """Mean absolute contribution per column over up to GLOBAL_ROWS rows (and every class)."""
        limit = SAMPLED_ROWS if self.name == SAMPLED else GLOBAL_ROWS
        sample = self._read(rows.sample(n=min(limit, len(rows)), random_state=seed))
        folded, _, _, everything = self._explain(sample, positive=True)
        importance = np.abs(everything).mean(axis=(0, 2))
        order = np.argsort(-importance)
        return GlobalExplanation(
            explainer=self.name,
            output=self.output,
            rows=len(sample),
            importance={self.columns[i]: float(importance[i]) for i in order},
            explained_class=self.classes[1] if len(self.classes) == 2 else None,
            values=folded[:, order],
            data=sample[[self.columns[i] for i in order if self.columns[i] in sample.columns]],
        )


def plot_global(explanation: GlobalExplanation, folder: Path, top: int = 15) -> list[Path]:
    """The bar chart of the importance and the beeswarm of every row's contributions, as PNG files."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt
    import shap

    folder.mkdir(parents=True, exist_ok=True)
    columns = list(explanation.importance)
    # Colour by the column's value where it is a number; categories and text are grey.
    numbers = explanation.data.reindex(columns=columns).apply(pd.to_numeric, errors="coerce")
    shaped = shap.Explanation(
        values=explanation.values,
        data=numbers.to_numpy(dtype=np.float64),
        feature_names=columns,
    )
    written = []
    for kind, draw in (("bar", shap.plots.bar), ("beeswarm", shap.plots.beeswarm)):
        plt.figure()
        draw(shaped, max_display=top, show=False)
        towards = f" of {explanation.explained_class!r}" if explanation.explained_class else ""
        plt.title(f"SHAP: contribution to the {explanation.output}{towards} ({explanation.rows} rows)")
        path = folder / f"shap_{kind}.png"
        plt.savefig(path, bbox_inches="tight", dpi=110)
        plt.close("all")
        written.append(path)
    return written
