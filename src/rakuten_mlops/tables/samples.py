"""Tables to try the workbench on without a download: scikit-learn's bundled ones and a messy generator.

`messy_frame` builds the kind of export users bring: an identifier, missing values, numbers mixed
with words, dates as text, one city spelled several ways, free text with quotes and newlines, a
constant, duplicated rows, and a column that gives the target away. `write_messy_csv` writes it as
Latin-1 with `;` delimiters, as a French spreadsheet export would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

BundledName = Literal["breast_cancer", "wine", "diabetes"]
BUNDLED: tuple[BundledName, ...] = ("breast_cancer", "wine", "diabetes")

CITIES = ["Paris", "paris", "PARIS ", "Lyon", "lyon", "Saint-Étienne", "Saint-Etienne", "Orléans", "Nantes"]
PLANS = ["basic", "premium", "pro"]
OPENERS = [
    "Très satisfait du service, je recommande",
    'Livraison "express" arrivée en retard;\nle colis était abîmé',
    "Rien à signaler pour le moment",
    "Le prix a augmenté sans prévenir",
    "Application pratique mais lente le soir",
]
CLOSERS = ["merci", "à revoir", "je vais comparer les offres", "service client joignable", "bof"]


def bundled_table(name: BundledName) -> pd.DataFrame:
    """A dataset shipped with scikit-learn as one frame, its target in the last column `target`."""
    from sklearn import datasets

    loaders = {
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "diabetes": datasets.load_diabetes,
    }
    frame: pd.DataFrame = loaders[name](as_frame=True).frame
    return frame


def messy_frame(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """A churn export with every usual problem; the target is `churned` (oui/non)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(42, 12, rows).round().clip(18, 90)
    income = rng.lognormal(7.8, 0.6, rows).round(2)
    income[rng.random(rows) < 0.01] *= 40  # a few absurd incomes: outliers
    plan = rng.choice(PLANS, rows, p=[0.5, 0.3, 0.2])
    visits = rng.poisson(6, rows)
    risk = 0.04 * (60 - age) / 12 + 0.6 * (plan == "basic") - 0.05 * visits + rng.normal(0, 0.5, rows)
    churned = risk > np.quantile(risk, 0.8)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{100_000 + i}" for i in rng.permutation(rows)],
            "age": age,
            "income": income,
            "city": rng.choice(CITIES, rows),
            "plan": plan,
            "visits": visits.astype(str).astype(object),
            "signup_date": pd.Series(
                pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 1_000, rows), unit="D")
            ).dt.strftime("%d/%m/%Y"),
            "comment": [
                f"{rng.choice(OPENERS)} ({rng.integers(1, 30)} jours) : {rng.choice(CLOSERS)}"
                for _ in range(rows)
            ],
            "source": "web",
            # Filled in when the customer left: it gives the answer away.
            "account_status": np.where(churned, "fermé", "actif"),
            "churned": np.where(churned, "oui", "non"),
        }
    )
    frame.loc[rng.random(rows) < 0.12, "age"] = np.nan
    frame.loc[rng.random(rows) < 0.05, "income"] = np.nan
    frame.loc[rng.random(rows) < 0.08, "city"] = None
    frame.loc[rng.random(rows) < 0.04, "visits"] = rng.choice(["inconnu", "n.c."])
    duplicated = frame.sample(max(1, rows // 50), random_state=seed)
    return pd.concat([frame, duplicated], ignore_index=True)


def write_messy_csv(
    path: Path, rows: int = 400, seed: int = 0, *, encoding: str = "latin-1", delimiter: str = ";"
) -> pd.DataFrame:
    """Write `messy_frame` as a CSV (Latin-1, `;` by default) and return the frame written."""
    frame = messy_frame(rows, seed)
    path.write_bytes(frame.to_csv(index=False, sep=delimiter).encode(encoding))
    return frame
