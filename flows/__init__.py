"""Prefect flows: thin orchestration over the rakuten_mlops package."""
