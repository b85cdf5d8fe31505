"""Errors of the runs package; the API maps them to 503, 404, 409 and 422."""

from __future__ import annotations

from rakuten_mlops.errors import DataError, MlopsError


class PrefectUnavailableError(MlopsError):
    """No Prefect server is configured, or the configured one does not answer."""


class RunNotFoundError(DataError):
    """No run, deployment or schedule with that id or name."""


class RunConflictError(DataError):
    """The run is not in a state that allows this (cancel a finished run, retry a running one)."""
