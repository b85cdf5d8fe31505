"""ApiManager against the real API under uvicorn; httpx.MockTransport only for the failure modes."""

from __future__ import annotations

import time

import httpx
import pandas as pd
import pytest
from tests.ui.helpers import ADMIN_KEY, LiveApi

from managers.api import ApiManager
from managers.base import ServiceUnavailableError
from rakuten_mlops.auth.roles import LOCAL_ADMIN
from rakuten_mlops.errors import ConfigError, DataError, ModelError


@pytest.fixture
def api(live_api: LiveApi) -> ApiManager:
    return ApiManager(httpx.Client(base_url=live_api.url, timeout=10.0), ADMIN_KEY)


def test_status_health_and_model_describe_the_champion(api: ApiManager) -> None:
    assert api.status().up
    health = api.health()
    assert health.model_loaded and health.model_version == "1"
    model = api.model()
    assert model is not None and model.version == "1" and model.alias == "champion"
    assert 0 < model.metrics["weighted_f1"] <= 1


def test_predict_and_explain_return_code_label_confidence_top_k_and_tokens(api: ApiManager) -> None:
    prediction = api.predict("Piscine tubulaire hors sol", "bâche et pompe de filtration")
    assert prediction.label and 0 < prediction.confidence <= 1
    assert prediction.top_k[0].prdtypecode == prediction.prdtypecode
    explained = api.explain("Piscine tubulaire hors sol", "bâche et pompe de filtration")
    assert explained.prdtypecode == prediction.prdtypecode
    assert explained.contributions and all(c.term for c in explained.contributions)


def test_predict_frame_keeps_rows_and_order_and_adds_the_answers(api: ApiManager) -> None:
    frame = pd.DataFrame(
        {
            "designation": ["Jeu PS4 Fifa 22", "Lot de 3 tasses", "Perceuse visseuse 18V"],
            "description": ["", "porcelaine", None],
            "sku": ["a", "b", "c"],
        }
    )
    scored = api.predict_frame(frame)
    assert list(scored["sku"]) == ["a", "b", "c"]
    assert {"prdtypecode", "label", "confidence", "model_version"} <= set(scored.columns)
    single = api.predict("Lot de 3 tasses", "porcelaine")
    assert scored.loc[1, "prdtypecode"] == single.prdtypecode


def test_predict_frame_names_the_row_without_a_designation(api: ApiManager) -> None:
    with pytest.raises(DataError, match="row 2 has an empty designation"):
        api.predict_frame(pd.DataFrame({"designation": ["ok", " "]}))
    with pytest.raises(DataError, match="'designation' column"):
        api.predict_frame(pd.DataFrame({"title": ["ok"]}))


def test_metrics_text_counts_the_requests_just_made(api: ApiManager) -> None:
    api.predict("Figurine Star Wars")
    assert "rakuten_http_requests_total" in api.metrics_text()


def test_reload_needs_the_admin_key(api: ApiManager, live_api: LiveApi) -> None:
    assert api.reload_model(actor=LOCAL_ADMIN).version == "1"
    anonymous = ApiManager(httpx.Client(base_url=live_api.url, timeout=10.0))
    with pytest.raises(ConfigError, match="API_KEY"):
        anonymous.reload_model(actor=LOCAL_ADMIN)


def test_a_stopped_api_is_reported_quickly_with_its_url(closed_url: str) -> None:
    api = ApiManager(httpx.Client(base_url=closed_url, timeout=2.0))
    started = time.monotonic()
    assert not api.status().up
    with pytest.raises(ServiceUnavailableError, match=closed_url):
        api.predict("x")
    assert time.monotonic() - started < 5


def mock(handler: httpx.MockTransport) -> ApiManager:
    return ApiManager(httpx.Client(base_url="http://api.test", transport=handler))


def test_no_champion_yet_is_a_model_error_and_no_model() -> None:
    api = mock(
        httpx.MockTransport(lambda r: httpx.Response(503, json={"detail": "no champion model is loaded yet"}))
    )
    assert api.model() is None
    with pytest.raises(ModelError, match="no champion"):
        api.predict("x")


def test_a_refused_request_carries_the_api_message() -> None:
    api = mock(httpx.MockTransport(lambda r: httpx.Response(422, json={"message": "designation: too long"})))
    with pytest.raises(DataError, match="422: designation: too long"):
        api.predict("x")


def test_a_timeout_is_a_service_unavailable_error() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(ServiceUnavailableError, match="not reachable"):
        mock(httpx.MockTransport(slow)).health()
