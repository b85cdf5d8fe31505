"""DASK_SCHEDULER_ADDRESS: a scheduler address or unset, a bad value refused in one sentence."""

from __future__ import annotations

import pytest

from rakuten_mlops.config import load_settings
from rakuten_mlops.errors import ConfigError
from rakuten_mlops.training.search.cluster import SearchTaskRunner


@pytest.mark.parametrize("value", ["tcp://10.0.0.5:8786", "tls://scheduler.internal:8786", "127.0.0.1:8786"])
def test_scheduler_addresses_are_kept(value: str) -> None:
    assert load_settings(DASK_SCHEDULER_ADDRESS=value).dask_scheduler_address == value


@pytest.mark.parametrize("value", ["", "   "])
def test_a_blank_address_means_a_local_cluster(value: str) -> None:
    assert load_settings(DASK_SCHEDULER_ADDRESS=value).dask_scheduler_address is None
    runner = SearchTaskRunner(None)
    assert runner.address is None and runner.cluster_kwargs["processes"] is False


@pytest.mark.parametrize("value", ["http://10.0.0.5:8786", "scheduler", "tcp://host:port"])
def test_a_bad_address_is_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(
        ConfigError, match=r"invalid setting DASK_SCHEDULER_ADDRESS: .* is not a Dask scheduler address"
    ):
        load_settings(DASK_SCHEDULER_ADDRESS=value)


def test_each_flow_run_reads_the_address_when_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from rakuten_mlops.config import get_settings

    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:8786")
    get_settings.cache_clear()
    try:
        assert SearchTaskRunner().duplicate().address == "tcp://127.0.0.1:8786"
    finally:
        get_settings.cache_clear()
