"""MLflow pyfunc wrapper of TextClassifierModel, logged as "models from code" (no cloudpickle).

The logged model carries the joblib file as an artifact, a two-line model script, and a copy of
the modules it needs (``rakuten_mlops`` errors, features and training) in ``code/``, so
``mlflow.pyfunc.load_model`` and ``mlflow models serve`` work where only the declared pip
requirements are installed. Where ``rakuten_mlops`` is already imported, the installed copy wins.
"""

from __future__ import annotations

import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.pyfunc import PythonModel, PythonModelContext
from mlflow.types import ColSpec, Schema

from rakuten_mlops.errors import DataError, ModelError
from rakuten_mlops.training.model import TextClassifierModel

MODEL_ARTIFACT = "text_classifier"
INPUT_COLUMNS = ("designation", "description")
_MODEL_SCRIPT = """\
import mlflow
from rakuten_mlops.training.pyfunc import TextClassifierPyfunc

mlflow.models.set_model(TextClassifierPyfunc())
"""
_REQUIREMENTS = ("mlflow", "scikit-learn", "scipy", "numpy", "pandas", "joblib")


def _integer_codes(classes: list[str]) -> bool:
    return all(c.lstrip("-").isdigit() for c in classes)


class TextClassifierPyfunc(PythonModel):
    """Predicts prdtypecode and confidence from a frame with designation and description."""

    def __init__(self) -> None:
        self.model: TextClassifierModel | None = None

    def load_context(self, context: PythonModelContext) -> None:
        """Load the joblib model named in the artifacts."""
        self.model = TextClassifierModel.load(Path(context.artifacts[MODEL_ARTIFACT]))

    # A pd.DataFrame hint keeps MLflow's own signature-based validation (no type-hint inference).
    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Return a DataFrame with prdtypecode and confidence, one row per input row."""
        if self.model is None:
            raise ModelError(
                "the pyfunc model has no TextClassifierModel; load it with mlflow.pyfunc.load_model"
            )
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if "designation" not in frame.columns:
            raise DataError(f"input has columns {list(frame.columns)}; a 'designation' column is required")
        designations = _text_column(frame["designation"])
        descriptions = (
            _text_column(frame["description"]) if "description" in frame.columns else [None] * len(frame)
        )
        proba = self.model.predict_proba(designations, descriptions)
        best = proba.argmax(axis=1)
        labels = [self.model.classes[i] for i in best]
        codes: list[Any] = [int(c) for c in labels] if _integer_codes(self.model.classes) else labels
        return pd.DataFrame(
            {"prdtypecode": pd.Series(codes, dtype="int64" if _integer_codes(self.model.classes) else object),
             "confidence": proba[np.arange(len(best)), best].astype(np.float64)},
            index=frame.index,
        )  # fmt: skip


def _text_column(column: pd.Series) -> list[str | None]:
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in column.tolist()]


def signature_for(model: TextClassifierModel) -> ModelSignature:
    """Input: designation (required) and description (optional) strings; output: code + confidence."""
    code_type = "long" if _integer_codes(model.classes) else "string"
    return ModelSignature(
        inputs=Schema([ColSpec("string", "designation"), ColSpec("string", "description", required=False)]),
        outputs=Schema([ColSpec(code_type, "prdtypecode"), ColSpec("double", "confidence")]),
    )


def pip_requirements() -> list[str]:
    """Pinned requirements of the serving environment (the versions installed here)."""
    return [f"{name}=={metadata.version(name)}" for name in _REQUIREMENTS]


def _copy_package(target: Path) -> Path:
    """Copy the modules a saved model needs into target/rakuten_mlops and return that folder."""
    source = Path(__file__).resolve().parents[1]
    package = target / "rakuten_mlops"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    package.mkdir(parents=True)
    for name in ("__init__.py", "errors.py", "py.typed"):
        if (source / name).exists():
            shutil.copy2(source / name, package / name)
    for sub in ("features", "training"):
        shutil.copytree(source / sub, package / sub, ignore=ignore)
    return package


def log_model(
    model: TextClassifierModel, *, name: str = "model", registered_model_name: str | None = None
) -> ModelInfo:
    """Log the model as a pyfunc in the active MLflow run (one is started if none is active)."""
    with tempfile.TemporaryDirectory(prefix="rakuten-pyfunc-") as tmp:
        folder = Path(tmp)
        weights = model.save(folder / "model.joblib")
        script = folder / "text_classifier_model.py"
        script.write_text(_MODEL_SCRIPT, encoding="utf-8")
        example = pd.DataFrame(
            {
                "designation": ["Lot de 3 stylos bille bleu"],
                "description": ["Stylos à encre bleue, pointe moyenne"],
            }
        )
        info: ModelInfo = mlflow.pyfunc.log_model(
            name=name,
            python_model=script,
            artifacts={MODEL_ARTIFACT: str(weights)},
            code_paths=[str(_copy_package(folder / "code"))],
            signature=signature_for(model),
            input_example=example,
            pip_requirements=pip_requirements(),
            registered_model_name=registered_model_name,
        )
        return info
