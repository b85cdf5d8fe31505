"""The prediction API (FastAPI): `rakuten_mlops.serving.app.create_app()` builds it, `rakuten-mlops serve` runs it.

This package imports none of its modules, so the inference log's writer process, which imports
`serving.log_writer`, never pays for FastAPI and MLflow.
"""
