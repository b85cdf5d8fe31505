"""Monitoring: descriptor drift checks (Evidently), drift reports and alerts in the database.

    window = load_current_window(engine, last=5_000)
    reference = load_reference_sample(registry, version)
    result = check_drift(reference, window.listings, model, report_dir=settings.reports_dir)
    record_drift(engine, result, version, window.description)
    if result.drift_detected:
        raise_alert(engine, "drift", "warning", "...", result.details())

Importing this package imports nothing heavy: each name below loads its module on first use, so
`rakuten_mlops.monitoring.alerts` (the CLI's alert commands) does not pull in scikit-learn, and
Evidently loads on the first check.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Each exported name -> the module that defines it.
_MODULES = {
    "ACCURACY_DROP": "alerts",
    "DRIFT": "alerts",
    "FLOW_FAILED": "alerts",
    "AlertNotFoundError": "alerts",
    "AlertRecord": "alerts",
    "Severity": "alerts",
    "acknowledge": "alerts",
    "list_alerts": "alerts",
    "raise_alert": "alerts",
    "raise_alert_once": "alerts",
    "DESCRIPTOR_COLUMNS": "descriptors",
    "compute_descriptors": "descriptors",
    "DEFAULT_THRESHOLD": "drift",
    "MIN_ROWS": "drift",
    "DriftResult": "drift",
    "FeatureDrift": "drift",
    "check_drift": "drift",
    "compare_descriptors": "drift",
    "REFERENCE_ARTIFACT": "sources",
    "CurrentWindow": "sources",
    "load_current_window": "sources",
    "load_reference_sample": "sources",
    "StoredDriftReport": "store",
    "latest_drift": "store",
    "recent_drift": "store",
    "record_drift": "store",
    "record_outcome": "store",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value
