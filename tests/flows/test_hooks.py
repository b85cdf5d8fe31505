"""A failed flow's alert is readable by anyone: it says what failed without addresses or secrets."""

from __future__ import annotations

import pytest
from prefect.states import Failed

from flows.hooks import public_reason
from rakuten_mlops.errors import DatabaseError, DataError, RegistryError

URL = "postgresql://rakuten:s3cret@db.internal:5432/rakuten"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            DatabaseError(f"reading the predictions table failed on {URL}: OperationalError"),
            "database could not",
        ),
        (RegistryError("the MLflow registry at http://mlflow.internal:5000 failed"), "MLflow registry could"),
        (DataError(f"the file {URL} is empty"), "the file [address] is empty"),
        (KeyError("s3cret"), "an unexpected KeyError; the run's logs have the details"),
    ],
)
def test_the_alert_reason_keeps_addresses_and_secrets_out(exc: Exception, expected: str) -> None:
    reason = public_reason(Failed(data=exc))
    assert expected in reason
    assert "s3cret" not in reason and "internal" not in reason and "5432" not in reason
