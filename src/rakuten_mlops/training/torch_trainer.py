"""PyTorch trainer: softmax regression or a one-hidden-layer MLP over sparse TF-IDF.

Torch is an optional extra; this module is only imported by ``make_trainer("torch", ...)`` and the
search's torch MLP family. Weights are exported to numpy heads so serving never needs torch.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from rakuten_mlops.errors import ModelError
from rakuten_mlops.features.vectorizers import FeatureConfig, TextColumn, TextFeaturizer
from rakuten_mlops.training.base import EpochCallback, prepare_labels
from rakuten_mlops.training.model import LinearHead, MLPHead, TextClassifierModel


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise ModelError(
            "the torch trainer needs PyTorch; install the extra with `pip install -e .[torch]` "
            "or use the sklearn trainer"
        ) from exc
    return torch


def resolve_device(device: str) -> str:
    """Map "auto" | "cpu" | "cuda" | "cuda:N" to a usable torch device, or raise ModelError."""
    if device not in {"auto", "cpu", "cuda"} and not device.startswith("cuda:"):
        raise ModelError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'")
    if device == "cpu":
        return "cpu"
    torch = _torch()
    available = bool(torch.cuda.is_available())
    if device == "auto":
        return "cuda" if available else "cpu"
    if not available:
        raise ModelError(
            f"device {device!r} was requested but CUDA is not available to torch "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'none'}); "
            "use device='auto' or 'cpu', or install a CUDA build of torch on a GPU machine"
        )
    index = int(device.split(":", 1)[1]) if ":" in device else 0
    if index >= torch.cuda.device_count():
        raise ModelError(
            f"device {device!r} does not exist; this machine has {torch.cuda.device_count()} GPU(s)"
        )
    return device


def _to_torch_csr(matrix: sp.csr_matrix, device: str) -> Any:
    torch = _torch()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            torch.from_numpy(matrix.indptr.astype(np.int64)),
            torch.from_numpy(matrix.indices.astype(np.int64)),
            torch.from_numpy(matrix.data.astype(np.float32, copy=False)),
            size=matrix.shape,
            device=device,
            check_invariants=False,  # scipy already produced a valid, sorted CSR
        )


@dataclass(frozen=True)
class TorchSettings:
    """Minibatch AdamW settings; hidden=0 is softmax regression, hidden>0 a one-hidden-layer MLP."""

    hidden: int = 0
    epochs: int = 5
    batch_size: int = 512
    lr: float = 0.01
    weight_decay: float = 1e-6

    def __post_init__(self) -> None:
        if self.hidden < 0 or self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.weight_decay < 0:
            raise ModelError(
                "TorchTrainer needs hidden >= 0, epochs >= 1, batch_size >= 1, lr > 0, weight_decay >= 0"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TorchSettings:
        """Settings from a search candidate's or the trainer options' values; unknown keys are refused."""
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ModelError(
                f"unknown torch settings {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}"
            )
        kinds = {"hidden": int, "epochs": int, "batch_size": int, "lr": float, "weight_decay": float}
        return cls(**{k: kinds[k](v) for k, v in values.items()})


def train_head(
    matrix: sp.csr_matrix,
    y: np.ndarray,
    n_classes: int,
    settings: TorchSettings,
    *,
    seed: int = 42,
    device: str = "auto",
    on_epoch: EpochCallback | None = None,
    losses: list[float] | None = None,
) -> LinearHead | MLPHead:
    """Train on (matrix, y) on the resolved device and export the weights as a numpy head."""
    torch = _torch()
    device = resolve_device(device)
    torch.manual_seed(seed)
    params = _init_params(torch, settings.hidden, matrix.shape[1], n_classes, device)
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    targets = torch.from_numpy(np.asarray(y, dtype=np.int64)).to(device)
    rng = np.random.default_rng(seed)
    for epoch in range(1, settings.epochs + 1):
        order = rng.permutation(matrix.shape[0])
        total = 0.0
        for begin in range(0, len(order), settings.batch_size):
            rows = order[begin : begin + settings.batch_size]
            batch = _to_torch_csr(matrix[rows], device)
            loss = torch.nn.functional.cross_entropy(_forward(params, batch), targets[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(rows)
        if losses is not None:
            losses.append(total / len(order))
        if on_epoch is not None:
            on_epoch(epoch, total / len(order))
    return _export(params)


def _init_params(torch: Any, hidden: int, n_features: int, n_classes: int, device: str) -> list[Any]:
    def make(*shape: int, scale: float = 0.0) -> Any:
        tensor = torch.randn(*shape) * scale if scale else torch.zeros(*shape)
        return tensor.to(device).requires_grad_(True)

    if hidden == 0:
        return [make(n_features, n_classes), make(n_classes)]
    # TF-IDF rows have a norm of a few units, so a small input scale keeps ReLUs alive.
    return [
        make(n_features, hidden, scale=0.05),
        make(hidden),
        make(hidden, n_classes, scale=float(np.sqrt(2.0 / hidden))),
        make(n_classes),
    ]


def _forward(params: list[Any], batch: Any) -> Any:
    if len(params) == 2:
        return batch @ params[0] + params[1]
    hidden = (batch @ params[0] + params[1]).relu()
    return hidden @ params[2] + params[3]


def _export(params: list[Any]) -> LinearHead | MLPHead:
    arrays = [p.detach().cpu().numpy().astype(np.float32) for p in params]
    if len(arrays) == 2:
        return LinearHead(np.ascontiguousarray(arrays[0]), arrays[1])
    w1, b1, w2, b2 = (np.ascontiguousarray(a) for a in arrays)
    return MLPHead(w1, b1, w2, b2)


class TorchTrainer:
    """Minibatch AdamW on sparse TF-IDF; hidden=0 is softmax regression, hidden>0 an MLP."""

    name = "torch"

    def __init__(
        self,
        features: FeatureConfig | None = None,
        *,
        device: str = "auto",
        hidden: int = 0,
        epochs: int = 5,
        batch_size: int = 512,
        lr: float = 0.01,
        weight_decay: float = 1e-6,
        seed: int = 42,
        on_epoch: EpochCallback | None = None,
    ) -> None:
        self.settings = TorchSettings(hidden, epochs, batch_size, lr, weight_decay)
        self.features = features or FeatureConfig()
        self.device = device
        self.seed = seed
        self.on_epoch = on_epoch
        self.timings: dict[str, float] = {}
        self.losses: list[float] = []

    def fit(
        self, designations: TextColumn, descriptions: TextColumn, labels: Sequence[object]
    ) -> TextClassifierModel:
        """Featurize, train on the resolved device, export numpy weights."""
        device = resolve_device(self.device)
        classes, y = prepare_labels(labels, len(designations))
        start = time.perf_counter()
        featurizer = TextFeaturizer(self.features)
        matrix = featurizer.fit_transform(designations, descriptions)
        self.timings["featurize_s"] = time.perf_counter() - start
        start = time.perf_counter()
        self.losses = []
        head = train_head(
            matrix, y, len(classes), self.settings, seed=self.seed, device=device,
            on_epoch=self.on_epoch, losses=self.losses,
        )  # fmt: skip
        self.timings["classifier_s"] = time.perf_counter() - start
        params_out = {**self.params(), "device": device}
        return TextClassifierModel(featurizer, head, classes, trainer=self.name, trainer_params=params_out)

    def params(self) -> dict[str, Any]:
        """Trainer settings for MLflow."""
        return {"requested_device": self.device, **asdict(self.settings), "seed": self.seed}
