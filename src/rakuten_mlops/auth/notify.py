"""Alert delivery: each new alert posted to the configured webhooks, with retries, no duplicates and a cooldown.

- Retries: a webhook that does not answer, answers 5xx or 429 is tried again (ALERT_DELIVERY_ATTEMPTS,
  exponential backoff); a 4xx answer is final (the URL or the payload is wrong, retrying cannot help).
- No duplicates: one `alert_deliveries` row per alert and webhook; a delivered alert is never sent
  to that webhook again, a failed one is retried by the next `deliver_pending` (next monitoring run,
  next failed flow, `rakuten-mlops alerts deliver`).
- Cooldown: an alert of the same kind and subject (model version, flow) delivered to a webhook less
  than ALERT_COOLDOWN_SECONDS ago is recorded as suppressed instead of being sent again.

The webhook's URL is a secret (a Slack URL is its own credential): messages name the webhook, never its URL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from rakuten_mlops.auth.models import AlertDelivery
from rakuten_mlops.auth.settings_store import SettingsStore, Webhook, secret_text
from rakuten_mlops.config import Settings
from rakuten_mlops.db.engine import get_engine, session_scope
from rakuten_mlops.db.models import utcnow
from rakuten_mlops.monitoring._db import as_utc, database_error
from rakuten_mlops.monitoring.alerts import AlertRecord, list_alerts

log = logging.getLogger(__name__)
DELIVERED, FAILED, SUPPRESSED = "delivered", "failed", "suppressed"
SUBJECT_KEYS = ("model_version", "flow")
SEVERITY_ICON = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}


class RetryableDeliveryError(Exception):
    """The webhook may accept the same alert later (no answer, 5xx, 429)."""


class FinalDeliveryError(Exception):
    """The webhook refused the alert in a way retrying cannot change (other 4xx)."""


@dataclass(frozen=True)
class DeliveryRecord:
    """Where one alert stands with one webhook."""

    alert_id: int
    webhook: str
    status: str  # delivered | failed | suppressed
    attempts: int
    last_error: str | None
    updated_at: datetime
    delivered_at: datetime | None


def _record(row: AlertDelivery) -> DeliveryRecord:
    return DeliveryRecord(
        row.alert_id,
        row.webhook,
        row.status,
        row.attempts,
        row.last_error,
        as_utc(row.updated_at),
        None if row.delivered_at is None else as_utc(row.delivered_at),
    )


def subject_of(alert: AlertRecord) -> str:
    """What makes two alerts the same for the cooldown: the kind and its subject."""
    parts = [alert.kind] + [f"{k}={alert.details[k]}" for k in SUBJECT_KEYS if k in alert.details]
    return ":".join(parts)[:200]


def payload(alert: AlertRecord, fmt: str) -> dict[str, Any]:
    """The JSON body for a webhook: Slack's incoming-webhook shape, or the alert as it is stored."""
    if fmt == "slack":
        icon = SEVERITY_ICON.get(alert.severity, ":warning:")
        text = f"{icon} *{alert.severity.upper()}* · {alert.kind} · alert {alert.id}\n{alert.message}"
        return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
    return {
        "source": "rakuten-mlops",
        "id": alert.id,
        "kind": alert.kind,
        "severity": alert.severity,
        "message": alert.message,
        "details": alert.details,
        "created_at": alert.created_at.isoformat(),
    }


class AlertNotifier:
    """Posts alerts to webhooks through an injected HTTP client and records every outcome."""

    def __init__(
        self,
        engine: Engine,
        client: httpx.Client,
        *,
        attempts: int = 3,
        backoff_seconds: float = 1.0,
        cooldown_seconds: float = 3600.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._engine = engine
        self._client = client
        self.attempts = attempts
        self.backoff = backoff_seconds
        self.cooldown = timedelta(seconds=cooldown_seconds)
        self._sleep = sleep

    def _post(self, webhook: Webhook, body: dict[str, Any]) -> None:
        try:
            response = self._client.post(webhook.url, json=body)
        except httpx.HTTPError as exc:  # the message may hold the URL: keep the class only
            raise RetryableDeliveryError(f"no answer ({type(exc).__name__})") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableDeliveryError(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise FinalDeliveryError(f"HTTP {response.status_code}: {response.text[:200]}")

    def _send(self, webhook: Webhook, body: dict[str, Any]) -> tuple[int, str | None]:
        """(attempts made, error or None)."""
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff, max=30),
            retry=retry_if_exception_type(RetryableDeliveryError),
            sleep=self._sleep,
            reraise=True,
        )
        made = 0
        try:
            for attempt in retrying:
                with attempt:
                    made += 1
                    self._post(webhook, body)
        except (RetryableDeliveryError, FinalDeliveryError) as exc:
            return made, str(exc)
        return made, None

    def _existing(self, alert_id: int, webhook: str) -> AlertDelivery | None:
        with session_scope(self._engine) as session:
            return session.scalar(
                select(AlertDelivery).where(
                    AlertDelivery.alert_id == alert_id, AlertDelivery.webhook == webhook
                )
            )

    def _recently_delivered(self, webhook: str, subject: str, alert_id: int) -> AlertDelivery | None:
        since = utcnow() - self.cooldown
        with session_scope(self._engine) as session:
            return session.scalar(
                select(AlertDelivery)
                .where(
                    AlertDelivery.webhook == webhook,
                    AlertDelivery.subject == subject,
                    AlertDelivery.status == DELIVERED,
                    AlertDelivery.alert_id != alert_id,
                    AlertDelivery.delivered_at >= since,
                )
                .limit(1)
            )

    def _store(
        self, alert: AlertRecord, webhook: str, status: str, attempts: int, error: str | None
    ) -> DeliveryRecord:
        now = utcnow()
        with session_scope(self._engine) as session:
            row = session.scalar(
                select(AlertDelivery)
                .where(AlertDelivery.alert_id == alert.id, AlertDelivery.webhook == webhook)
                .with_for_update()
            )
            if row is None:
                row = AlertDelivery(alert_id=alert.id, webhook=webhook, subject=subject_of(alert), attempts=0)
                session.add(row)
            row.status, row.attempts, row.last_error, row.updated_at = (
                status,
                row.attempts + attempts,
                error,
                now,
            )
            row.delivered_at = now if status == DELIVERED else None
            session.flush()
            return _record(row)

    def deliver(self, alert: AlertRecord, webhooks: Iterable[Webhook]) -> list[DeliveryRecord]:
        """Post one alert to every webhook that wants its kind and has not had it yet."""
        done = []
        try:
            for webhook in webhooks:
                if not webhook.wants(alert.kind):
                    continue
                existing = self._existing(alert.id, webhook.name)
                if existing is not None and existing.status in (DELIVERED, SUPPRESSED):
                    continue
                earlier = self._recently_delivered(webhook.name, subject_of(alert), alert.id)
                if earlier is not None and existing is None:
                    note = f"same alert delivered as alert {earlier.alert_id} within the cooldown"
                    done.append(self._store(alert, webhook.name, SUPPRESSED, 0, note))
                    continue
                attempts, error = self._send(webhook, payload(alert, webhook.format))
                if error is not None:
                    log.warning("alert %s not delivered to webhook %s: %s", alert.id, webhook.name, error)
                done.append(self._store(alert, webhook.name, FAILED if error else DELIVERED, attempts, error))
        except SQLAlchemyError as exc:
            raise database_error(f"recording the delivery of alert {alert.id}", self._engine, exc) from exc
        return done

    def deliver_pending(self, webhooks: list[Webhook], since_hours: float = 24.0) -> list[DeliveryRecord]:
        """Deliver every open alert of the last hours that some webhook has not had yet (failed ones again)."""
        if not webhooks:
            return []
        cutoff = utcnow() - timedelta(hours=since_hours)
        done = []
        for alert in reversed(list_alerts(self._engine, include_acknowledged=False, limit=200)):
            if alert.created_at >= cutoff:
                done.extend(self.deliver(alert, webhooks))
        return done


def deliveries(engine: Engine, alert_ids: Iterable[int]) -> dict[int, list[DeliveryRecord]]:
    """Delivery records of these alerts, by alert id."""
    ids = list(alert_ids)
    found: dict[int, list[DeliveryRecord]] = {i: [] for i in ids}
    if not ids:
        return found
    try:
        with session_scope(engine) as session:
            query = (
                select(AlertDelivery).where(AlertDelivery.alert_id.in_(ids)).order_by(AlertDelivery.webhook)
            )
            for row in session.scalars(query):
                found[row.alert_id].append(_record(row))
    except SQLAlchemyError as exc:
        raise database_error("reading alert deliveries", engine, exc) from exc
    return found


def notify_pending(settings: Settings, engine: Engine | None = None) -> list[DeliveryRecord]:
    """Deliver what is pending to the webhooks of the settings store (none configured: nothing to do)."""
    engine = engine if engine is not None else get_engine(settings.db_url)
    hooks = SettingsStore(engine, secret_text(settings.secret_key)).webhooks()
    if not hooks:
        return []
    with httpx.Client(timeout=10.0) as client:
        notifier = AlertNotifier(
            engine,
            client,
            attempts=settings.alert_delivery_attempts,
            cooldown_seconds=settings.alert_cooldown_seconds,
        )
        return notifier.deliver_pending(hooks)
