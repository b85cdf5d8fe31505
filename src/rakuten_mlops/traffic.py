"""Simulated traffic: generated listings sent to the prediction API, to try monitoring end to end.

rakuten-mlops traffic --rows 2000            # in-distribution listings
rakuten-mlops traffic --rows 2000 --drift    # shifted listings: the next drift check flags them
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from rakuten_mlops import progress
from rakuten_mlops.data.sample import generate_listings
from rakuten_mlops.errors import MlopsError
from rakuten_mlops.serving.schemas import MAX_BATCH_ITEMS


@dataclass(frozen=True)
class TrafficResult:
    """How many listings the API classified, with which model versions, in how long."""

    api_url: str
    sent: int
    drift: bool
    model_versions: list[str]
    seconds: float


def send_traffic(
    api_url: str,
    rows: int,
    *,
    seed: int = 7,
    drift: bool = False,
    batch_size: int = 200,
    timeout: float = 60.0,
) -> TrafficResult:
    """POST `rows` generated listings to /predict/batch in batches; fail on the first refused batch."""
    if rows < 1:
        raise MlopsError(f"send at least one listing (rows={rows})")
    if not 1 <= batch_size <= MAX_BATCH_ITEMS:
        raise MlopsError(f"batch size must be between 1 and {MAX_BATCH_ITEMS}, got {batch_size}")
    listings = generate_listings(rows, seed, drift=drift)[["designation", "description"]]
    items = listings.to_dict(orient="records")
    versions: set[str] = set()
    started = time.perf_counter()
    url = f"{api_url.rstrip('/')}/predict/batch"
    with httpx.Client(timeout=timeout) as client:
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            try:
                response = client.post(url, json={"items": chunk})
            except httpx.HTTPError as exc:
                raise MlopsError(
                    f"the API at {api_url} is unreachable ({exc.__class__.__name__}); "
                    "start it with rakuten-mlops serve"
                ) from exc
            if response.status_code != 200:
                raise MlopsError(
                    f"POST {url} answered {response.status_code} after {start:,} listings: {response.text[:300]}"
                )
            versions.update(str(p["model_version"]) for p in response.json()["predictions"])
            progress.report("traffic", start + len(chunk), len(items))
    return TrafficResult(
        api_url, len(items), drift, sorted(versions), round(time.perf_counter() - started, 2)
    )
