"""The prediction API (FastAPI): `create_app()` builds it, `rakuten-mlops serve` runs it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rakuten_mlops.serving.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the inference-log writer process imports this package and must not
    # pay for FastAPI and MLflow, which the app module pulls in.
    if name == "create_app":
        from rakuten_mlops.serving.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
