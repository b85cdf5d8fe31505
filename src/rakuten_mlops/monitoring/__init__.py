"""Monitoring: descriptor drift checks (Evidently), drift reports and alerts in the database.

    window = sources.load_current_window(engine, last=5_000)
    reference = sources.load_reference_sample(registry, version)
    result = drift.check_drift(reference, window.listings, model, report_dir=settings.reports_dir)
    store.record_drift(engine, result, version, window.description)
    if result.drift_detected:
        alerts.raise_alert(engine, "drift", "warning", "...", result.details())

Import from the modules themselves (`rakuten_mlops.monitoring.alerts`, `.drift`, `.store`, ...): this
package imports none of them, so the CLI's alert commands never load scikit-learn or Evidently.
"""
