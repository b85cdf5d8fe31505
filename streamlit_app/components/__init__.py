"""Reusable pieces of the pages: status messages and cards, charts, the ingestion form."""
