"""Alerts posted to webhooks on a real local receiver: retries after failures, no duplicates, a cooldown."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from rakuten_mlops.auth.notify import DELIVERED, FAILED, SUPPRESSED, AlertNotifier, deliveries, payload
from rakuten_mlops.auth.settings_store import Webhook
from rakuten_mlops.monitoring.alerts import DRIFT, FLOW_FAILED, acknowledge, raise_alert
from rakuten_mlops.testing.receiver import WebhookReceiver


def notifier(engine: Engine, client: httpx.Client, cooldown: float = 3600.0) -> AlertNotifier:
    waits: list[float] = []
    return AlertNotifier(engine, client, attempts=3, cooldown_seconds=cooldown, sleep=waits.append)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as http:
        yield http


def test_a_webhook_that_fails_first_gets_the_alert_on_a_retry(engine: Engine, client: httpx.Client) -> None:
    alert = raise_alert(engine, DRIFT, "warning", "drift on v3", {"model_version": "3"})
    with WebhookReceiver(failures=2, status=503) as receiver:
        hook = Webhook("ops", receiver.url("/services/T/B/secret"), "slack")
        [done] = notifier(engine, client).deliver(alert, [hook])
    assert (done.status, done.attempts, done.last_error) == (DELIVERED, 3, None)
    assert [status for _, _, status in receiver.received.requests] == [503, 503, 200]
    assert "drift on v3" in receiver.received.accepted[0]["text"]
    assert deliveries(engine, [alert.id])[alert.id][0].status == DELIVERED


def test_a_webhook_down_for_every_attempt_is_failed_then_retried_later(
    engine: Engine, client: httpx.Client
) -> None:
    alert = raise_alert(
        engine, FLOW_FAILED, "critical", "flow 'training-pipeline' failed", {"flow": "training-pipeline"}
    )
    with WebhookReceiver(failures=3, status=500) as receiver:
        hook = Webhook("generic", receiver.url(), "generic")
        sender = notifier(engine, client)
        [first] = sender.deliver_pending([hook])
        assert (first.status, first.attempts, first.last_error) == (FAILED, 3, "HTTP 500")
        [again] = sender.deliver_pending([hook])
    assert (again.status, again.attempts) == (DELIVERED, 4)
    body = receiver.received.accepted[0]
    assert (body["id"], body["kind"], body["details"]) == (
        alert.id,
        FLOW_FAILED,
        {"flow": "training-pipeline"},
    )


def test_a_refusal_is_final_and_the_message_never_holds_the_url(engine: Engine, client: httpx.Client) -> None:
    alert = raise_alert(engine, DRIFT, "warning", "drift on v1", {"model_version": "1"})
    with WebhookReceiver(failures=5, status=404) as receiver:
        [done] = notifier(engine, client).deliver(alert, [Webhook("bad", receiver.url("/secret-path"))])
    assert (done.status, done.attempts) == (FAILED, 1)
    assert "secret-path" not in (done.last_error or "") and "HTTP 404" in (done.last_error or "")


def test_a_delivered_alert_is_not_sent_twice_and_the_same_subject_waits_for_the_cooldown(
    engine: Engine, client: httpx.Client
) -> None:
    first = raise_alert(engine, DRIFT, "warning", "drift on v2", {"model_version": "2"})
    with WebhookReceiver() as receiver:
        hook = Webhook("ops", receiver.url())
        sender = notifier(engine, client)
        sender.deliver(first, [hook])
        assert sender.deliver(first, [hook]) == []  # already delivered: nothing sent
        acknowledge(engine, first.id, "tester")
        again = raise_alert(engine, DRIFT, "warning", "drift on v2 again", {"model_version": "2"})
        [suppressed] = sender.deliver(again, [hook])
        other = raise_alert(engine, DRIFT, "warning", "drift on v4", {"model_version": "4"})
        [sent] = sender.deliver(other, [hook])
        [after_cooldown] = notifier(engine, client, cooldown=0.0).deliver(
            raise_alert(engine, DRIFT, "warning", "drift on v2, later", {"model_version": "2"}), [hook]
        )
    assert suppressed.status == SUPPRESSED and f"alert {first.id}" in (suppressed.last_error or "")
    assert (sent.status, after_cooldown.status) == (DELIVERED, DELIVERED)
    assert [b["message"] for b in receiver.received.accepted] == [
        "drift on v2",
        "drift on v4",
        "drift on v2, later",
    ]


def test_a_webhook_gets_only_the_kinds_it_asked_for(engine: Engine, client: httpx.Client) -> None:
    alert = raise_alert(engine, DRIFT, "warning", "drift on v1", {"model_version": "1"})
    with WebhookReceiver() as receiver:
        hooks = [
            Webhook("flows", receiver.url("/flows"), kinds=(FLOW_FAILED,)),
            Webhook("all", receiver.url("/all")),
        ]
        done = notifier(engine, client).deliver(alert, hooks)
    assert [d.webhook for d in done] == ["all"]
    assert [path for path, _, _ in receiver.received.requests] == ["/all"]


def test_the_slack_payload_is_an_incoming_webhook_message(engine: Engine) -> None:
    alert = raise_alert(engine, DRIFT, "critical", "drift on v5", {"model_version": "5"})
    body = payload(alert, "slack")
    assert (
        body["text"].startswith(":rotating_light: *CRITICAL* · drift")
        and body["blocks"][0]["type"] == "section"
    )
