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


def test_a_failed_flow_alert_reaches_the_configured_webhook_after_a_retry(
    mlops_home: object, monkeypatch: pytest.MonkeyPatch, prefect_harness: None
) -> None:
    import json

    from prefect import flow

    from flows.hooks import alert_on_failure
    from rakuten_mlops.auth.notify import deliveries
    from rakuten_mlops.auth.roles import LOCAL_ADMIN
    from rakuten_mlops.auth.settings_store import SettingsStore
    from rakuten_mlops.config import get_settings
    from rakuten_mlops.db import get_engine, upgrade
    from rakuten_mlops.monitoring.alerts import list_alerts
    from rakuten_mlops.testing.receiver import WebhookReceiver

    monkeypatch.setenv("SECRET_KEY", "hook-test-secret-key")
    get_settings.cache_clear()
    engine = get_engine(get_settings().prepare().db_url)
    upgrade(engine)

    @flow(name="always-fails", on_failure=[alert_on_failure])
    def always_fails() -> None:
        raise DataError("the input file is empty")

    with WebhookReceiver(failures=1) as receiver:
        hooks = [{"name": "ops", "url": receiver.url("/hook"), "format": "generic"}]
        SettingsStore(engine, "hook-test-secret-key").set(
            "notifications.webhooks", json.dumps(hooks), LOCAL_ADMIN
        )
        always_fails(return_state=True)
    [alert] = list_alerts(engine, kind="flow_failed")
    assert [body["id"] for body in receiver.received.accepted] == [alert.id]
    assert "the input file is empty" in receiver.received.accepted[0]["message"]
    [delivery] = deliveries(engine, [alert.id])[alert.id]
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_a_failed_run_log_has_one_line_saying_what_failed_and_what_to_do(
    mlops_home: object, prefect_harness: None
) -> None:
    import time

    from prefect import flow, task
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    from flows.hooks import alert_on_failure
    from rakuten_mlops.config import get_settings
    from rakuten_mlops.db import get_engine, upgrade

    get_settings.cache_clear()
    upgrade(get_engine(get_settings().prepare().db_url))

    @task
    def read_catalogue() -> None:
        raise DatabaseError(f"reading the listings failed on {URL}: connection refused")

    @flow(name="summarised", on_failure=[alert_on_failure])
    def summarised() -> None:
        read_catalogue()

    state = summarised(return_state=True)
    assert state.is_failed()
    run_id = state.state_details.flow_run_id
    deadline = time.monotonic() + 30
    while True:
        with get_client(sync_client=True) as client:
            logs = client.read_logs(
                LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), limit=200, offset=0
            )
        summaries = [log.message for log in logs if log.message.startswith("FAILED summarised:")]
        if summaries or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(summaries) == 1, [log.message[:120] for log in logs]
    (line,) = summaries
    assert "\n" not in line and "reading the listings failed" in line
    assert line.endswith("What to do: check DATABASE_URL and that the database answers, then retry the run.")
    assert "s3cret" not in line  # the URL keeps its user, never its password
