"""Settings: derived defaults, and one clear sentence for each bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from rakuten_mlops.config import get_settings, load_settings
from rakuten_mlops.errors import ConfigError


def test_urls_derive_from_mlops_home(mlops_home: Path) -> None:
    settings = get_settings()
    assert settings.db_url == f"sqlite:///{mlops_home.resolve()}/app.db"
    assert settings.tracking_uri == f"sqlite:///{mlops_home.resolve()}/mlflow.db"
    assert settings.model_name == "rakuten-product-classifier"
    assert settings.api_key is None


def test_nothing_is_created_until_prepare(mlops_home: Path) -> None:
    settings = get_settings()
    assert not mlops_home.exists()
    settings.prepare()
    assert (mlops_home / "mlartifacts").is_dir() and (mlops_home / "spool").is_dir()


def test_environment_overrides_defaults(mlops_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/rakuten")
    monkeypatch.setenv("MODEL_NAME", "other")
    get_settings.cache_clear()
    assert (get_settings().db_url, get_settings().model_name) == ("postgresql://u:p@db:5432/rakuten", "other")


def test_dotenv_file_is_read(mlops_home: Path, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MODEL_NAME=from-dotenv\n")
    assert load_settings().model_name == "from-dotenv"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [("not a url", "is not a database URL"), ("mysql://u@h/db", "only sqlite and postgresql are supported")],
)
def test_unusable_database_url_is_one_sentence(mlops_home: Path, url: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(DATABASE_URL=url)
    assert fragment in str(caught.value) and "DATABASE_URL" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unwritable_home_names_the_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(
        ConfigError, match=r"MLOPS_HOME folder .*a-file/home cannot be created: Not a directory"
    ):
        load_settings(MLOPS_HOME=str(blocker / "home")).prepare()


def test_negative_chunk_size_is_refused(mlops_home: Path) -> None:
    with pytest.raises(ConfigError, match="INGEST_CHUNK_ROWS"):
        load_settings(INGEST_CHUNK_ROWS="5")
