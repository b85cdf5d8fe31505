"""Bulk histogram observation matches prometheus-client's own observe(), bucket by bucket."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from rakuten_mlops.serving.metrics import TEXT_BUCKETS, observe_many


def exposition(registry: CollectorRegistry) -> list[str]:
    return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]


@pytest.mark.parametrize("count", [3, 500])
def test_observe_many_equals_observe_one_by_one(count: int) -> None:
    values = [
        random.Random(count).choice([0, 10, 10.5, 25, 999, 1000, 1001, 20000, 30000]) for _ in range(count)
    ]
    one, many = CollectorRegistry(), CollectorRegistry()
    single = Histogram("text", "t", ["field"], buckets=TEXT_BUCKETS, registry=one).labels(field="designation")
    bulk = Histogram("text", "t", ["field"], buckets=TEXT_BUCKETS, registry=many).labels(field="designation")
    for value in values:
        single.observe(value)
    observe_many(bulk, values)
    assert exposition(one) == exposition(many)
    assert f'text_count{{field="designation"}} {float(count)}' in exposition(many)
