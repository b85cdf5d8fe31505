"""The prediction API (FastAPI): `create_app()` builds it, `rakuten-mlops serve` runs it."""

from rakuten_mlops.serving.app import create_app

__all__ = ["create_app"]
