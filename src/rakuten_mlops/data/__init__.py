"""Data sources, validation, ingestion, splits and profiling."""
