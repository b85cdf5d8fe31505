"""Requests generated from the OpenAPI schema, valid and invalid, with and without the admin key.

Nothing a client can send may produce a 5xx.
"""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from rakuten_mlops.config import Settings
from rakuten_mlops.serving.app import create_app

EXAMPLES_PER_OPERATION = 15


@pytest.mark.slow
def test_no_generated_request_yields_a_server_error(api_settings: Settings) -> None:
    app = create_app(api_settings, poll_seconds=0)
    with TestClient(app):  # runs the lifespan: champion loaded, log writer started
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        checked = []
        admin = {"X-API-Key": api_settings.api_key or ""}
        operations = [result.ok() for result in schema.get_all_operations()]
        variants = [(mode, headers) for mode in GenerationMode for headers in (None, admin)]
        for operation, (mode, headers) in itertools.product(operations, variants):

            @given(case=operation.as_strategy(mode, headers=headers))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def no_server_error(case: schemathesis.Case) -> None:
                response = case.call()
                # This app has no Prefect server: the runs routes say so with 503, the one 5xx allowed.
                no_prefect = (
                    response.status_code == 503
                    and case.path.startswith(("/runs", "/events"))
                    and "no Prefect server is configured" in response.text
                )
                assert response.status_code < 500 or no_prefect, (
                    case.method,
                    case.path,
                    case.body,
                    response.text[:300],
                )

            try:
                no_server_error()
            except Unsatisfiable:  # no invalid input exists for a route without parameters or body
                assert mode is GenerationMode.NEGATIVE
                continue
            checked.append(f"{operation.method.upper()} {operation.path}")  # positive and negative data
    assert {"POST /predict", "POST /predict/batch", "POST /feedback", "GET /metrics"} <= set(checked)
