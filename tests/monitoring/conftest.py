"""A small real model and generated listings shared by the monitoring tests (built once per session)."""

from __future__ import annotations

import pandas as pd
import pytest

from rakuten_mlops.data.sample import generate_listings
from rakuten_mlops.training.model import TextClassifierModel
from rakuten_mlops.training.trainers import SklearnTrainer

# Above 1,000 rows Evidently tests with distances (Wasserstein, Jensen-Shannon), as in production.
CHECK_ROWS = 1_200
TEXT = ["designation", "description"]


@pytest.fixture(scope="session")
def drift_model() -> TextClassifierModel:
    """A TF-IDF + SGD model trained on 3,000 generated listings."""
    frame = generate_listings(3_000, seed=101)
    return SklearnTrainer(random_state=0).fit(
        frame["designation"].tolist(),
        frame["description"].tolist(),
        frame["prdtypecode"].astype(str).tolist(),
    )


@pytest.fixture(scope="session")
def reference_listings() -> pd.DataFrame:
    """Listings from the training distribution, as the logged reference sample holds them."""
    return generate_listings(CHECK_ROWS, seed=102)[TEXT]


@pytest.fixture(scope="session")
def drifted_listings() -> pd.DataFrame:
    """Shifted listings: longer texts, new product words, other class priors."""
    return generate_listings(CHECK_ROWS, seed=103, drift=True)[TEXT]


@pytest.fixture(scope="session")
def same_listings() -> pd.DataFrame:
    """Another sample of the training distribution."""
    return generate_listings(CHECK_ROWS, seed=104)[TEXT]
