"""PyTorch trainer: softmax regression or a one-hidden-layer MLP over sparse TF-IDF.

Torch is an optional extra; this module is only imported by ``get_trainer("torch")``.
Weights are exported to numpy heads so serving never needs torch.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from rakuten_mlops.errors import ModelError
from rakuten_mlops.features.vectorizers import FeatureConfig, TextColumn, TextFeaturizer
from rakuten_mlops.training.model import LinearHead, MLPHead, TextClassifierModel
from rakuten_mlops.training.trainers import EpochCallback, prepare_labels


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
        if hidden < 0 or epochs < 1 or batch_size < 1 or lr <= 0 or weight_decay < 0:
            raise ModelError(
                "TorchTrainer needs hidden >= 0, epochs >= 1, batch_size >= 1, lr > 0, weight_decay >= 0"
            )
        self.features = features or FeatureConfig()
        self.device = device
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.seed = seed
        self.on_epoch = on_epoch
        self.timings: dict[str, float] = {}
        self.losses: list[float] = []

    def fit(
        self, designations: TextColumn, descriptions: TextColumn, labels: Sequence[object]
    ) -> TextClassifierModel:
        """Featurize, train on the resolved device, export numpy weights."""
        torch = _torch()
        device = resolve_device(self.device)
        classes, y = prepare_labels(labels, len(designations))
        start = time.perf_counter()
        featurizer = TextFeaturizer(self.features)
        matrix = featurizer.fit_transform(designations, descriptions)
        self.timings["featurize_s"] = time.perf_counter() - start
        start = time.perf_counter()
        torch.manual_seed(self.seed)
        params = self._init_params(torch, matrix.shape[1], len(classes), device)
        optimizer = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        targets = torch.from_numpy(y).to(device)
        rng = np.random.default_rng(self.seed)
        self.losses = []
        for epoch in range(1, self.epochs + 1):
            order = rng.permutation(matrix.shape[0])
            total = 0.0
            for begin in range(0, len(order), self.batch_size):
                rows = order[begin : begin + self.batch_size]
                batch = _to_torch_csr(matrix[rows], device)
                loss = torch.nn.functional.cross_entropy(self._forward(params, batch), targets[rows])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(rows)
            self.losses.append(total / len(order))
            if self.on_epoch is not None:
                self.on_epoch(epoch, self.losses[-1])
        self.timings["classifier_s"] = time.perf_counter() - start
        head = self._export(params)
        params_out = {**self.params(), "device": device}
        return TextClassifierModel(featurizer, head, classes, trainer=self.name, trainer_params=params_out)

    def _init_params(self, torch: Any, n_features: int, n_classes: int, device: str) -> list[Any]:
        def make(*shape: int, scale: float = 0.0) -> Any:
            tensor = torch.randn(*shape) * scale if scale else torch.zeros(*shape)
            return tensor.to(device).requires_grad_(True)

        if self.hidden == 0:
            return [make(n_features, n_classes), make(n_classes)]
        # TF-IDF rows have a norm of a few units, so a small input scale keeps ReLUs alive.
        return [
            make(n_features, self.hidden, scale=0.05),
            make(self.hidden),
            make(self.hidden, n_classes, scale=float(np.sqrt(2.0 / self.hidden))),
            make(n_classes),
        ]

    @staticmethod
    def _forward(params: list[Any], batch: Any) -> Any:
        if len(params) == 2:
            return batch @ params[0] + params[1]
        hidden = (batch @ params[0] + params[1]).relu()
        return hidden @ params[2] + params[3]

    @staticmethod
    def _export(params: list[Any]) -> LinearHead | MLPHead:
        arrays = [p.detach().cpu().numpy().astype(np.float32) for p in params]
        if len(arrays) == 2:
            return LinearHead(np.ascontiguousarray(arrays[0]), arrays[1])
        w1, b1, w2, b2 = (np.ascontiguousarray(a) for a in arrays)
        return MLPHead(w1, b1, w2, b2)

    def params(self) -> dict[str, Any]:
        """Trainer settings for MLflow."""
        return {
            "requested_device": self.device,
            "hidden": self.hidden,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "seed": self.seed,
        }
