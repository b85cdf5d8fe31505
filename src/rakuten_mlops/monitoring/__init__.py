"""Monitoring: descriptor drift checks (Evidently), drift reports and alerts in the database.

    window = load_current_window(engine, last=5_000)
    reference = load_reference_sample(registry, version)
    result = check_drift(reference, window.listings, model, report_dir=settings.reports_dir)
    record_drift(engine, result, version, window.description)
    if result.drift_detected:
        raise_alert(engine, "drift", "warning", "...", result.details())

Importing this package does not import Evidently (it loads on the first check).
"""

from rakuten_mlops.monitoring.alerts import (
    ACCURACY_DROP,
    DRIFT,
    FLOW_FAILED,
    AlertNotFoundError,
    AlertRecord,
    Severity,
    acknowledge,
    list_alerts,
    raise_alert,
    raise_alert_once,
)
from rakuten_mlops.monitoring.descriptors import DESCRIPTOR_COLUMNS, compute_descriptors
from rakuten_mlops.monitoring.drift import (
    DEFAULT_THRESHOLD,
    MIN_ROWS,
    DriftResult,
    FeatureDrift,
    check_drift,
    compare_descriptors,
)
from rakuten_mlops.monitoring.sources import (
    REFERENCE_ARTIFACT,
    CurrentWindow,
    load_current_window,
    load_reference_sample,
)
from rakuten_mlops.monitoring.store import (
    StoredDriftReport,
    latest_drift,
    recent_drift,
    record_drift,
    record_outcome,
)

__all__ = [
    "ACCURACY_DROP",
    "DEFAULT_THRESHOLD",
    "DESCRIPTOR_COLUMNS",
    "DRIFT",
    "FLOW_FAILED",
    "MIN_ROWS",
    "REFERENCE_ARTIFACT",
    "AlertNotFoundError",
    "AlertRecord",
    "CurrentWindow",
    "DriftResult",
    "FeatureDrift",
    "Severity",
    "StoredDriftReport",
    "acknowledge",
    "check_drift",
    "compare_descriptors",
    "compute_descriptors",
    "latest_drift",
    "list_alerts",
    "load_current_window",
    "load_reference_sample",
    "raise_alert",
    "raise_alert_once",
    "recent_drift",
    "record_drift",
    "record_outcome",
]
