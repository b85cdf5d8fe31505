"""Training, evaluation and explanation of the product-type classifier.

Torch (`torch_trainer`) and MLflow (`pyfunc`) are imported only where used, so importing
this package stays light and works without the torch extra.
"""

from rakuten_mlops.training.evaluation import EvaluationResult, evaluate, write_evaluation_artifacts
from rakuten_mlops.training.explain import explain, top_terms
from rakuten_mlops.training.model import FORMAT_VERSION, LinearHead, MLPHead, TextClassifierModel
from rakuten_mlops.training.trainers import SklearnTrainer, Trainer, get_trainer

__all__ = [
    "FORMAT_VERSION",
    "EvaluationResult",
    "LinearHead",
    "MLPHead",
    "SklearnTrainer",
    "TextClassifierModel",
    "Trainer",
    "evaluate",
    "explain",
    "get_trainer",
    "top_terms",
    "write_evaluation_artifacts",
]
