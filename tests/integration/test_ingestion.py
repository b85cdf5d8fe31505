"""Ingestion into a real SQLite file and a real PostgreSQL database (every test runs on both)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from rakuten_mlops.data.ingestion import ingest_rakuten, ingest_sample, ingest_table
from rakuten_mlops.data.sample import generate_listings, write_rakuten_files
from rakuten_mlops.db.models import IngestionBatch, Product
from rakuten_mlops.errors import ValidationError


def product_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Product)).scalar_one()


def batches(engine: Engine) -> list[IngestionBatch]:
    with engine.connect() as connection:
        return list(connection.execute(select(IngestionBatch).order_by(IngestionBatch.id)).all())


@pytest.fixture
def rakuten_files(tmp_path: Path) -> tuple[Path, Path]:
    frame = generate_listings(600, seed=7)
    x, y = tmp_path / "X_train.csv", tmp_path / "Y_train.csv"
    write_rakuten_files(frame, x, y)
    return x, y


def test_sample_ingest_then_again_adds_nothing(engine: Engine) -> None:
    first = ingest_sample(engine, 1_500, seed=3, chunk_rows=400)
    second = ingest_sample(engine, 1_500, seed=3, chunk_rows=400)
    assert (first.inserted, first.duplicates) == (1_500, 0)
    assert (second.rows_read, second.inserted, second.duplicates) == (1_500, 0, 1_500)
    assert product_count(engine) == 1_500
    recorded = batches(engine)
    assert [(b.status, b.inserted, b.duplicates) for b in recorded] == [
        ("succeeded", 1_500, 0),
        ("succeeded", 0, 1_500),
    ]
    assert all(b.duration_seconds is not None and b.finished_at is not None for b in recorded)


def test_rakuten_files_are_joined_on_their_index(engine: Engine, rakuten_files: tuple[Path, Path]) -> None:
    x, y = rakuten_files
    result = ingest_rakuten(engine, x, y, chunk_rows=250)
    assert (result.rows_read, result.inserted) == (600, 600)
    x_frame = pd.read_csv(x, index_col=0)
    y_frame = pd.read_csv(y, index_col=0)
    with engine.connect() as connection:
        stored = pd.read_sql(
            select(Product.external_id, Product.designation, Product.label, Product.productid), connection
        )
    stored = stored.set_index(stored["external_id"].astype(int)).sort_index()
    assert stored["label"].tolist() == y_frame["prdtypecode"].astype(str).tolist()
    assert stored["designation"].tolist() == x_frame["designation"].str.strip().tolist()
    assert stored["productid"].tolist() == x_frame["productid"].tolist()


def test_rakuten_x_without_y_is_stored_unlabelled(engine: Engine, rakuten_files: tuple[Path, Path]) -> None:
    result = ingest_rakuten(engine, rakuten_files[0], None)
    assert result.inserted == 600
    with engine.connect() as connection:
        labels = connection.execute(select(func.count()).where(Product.label.is_not(None))).scalar_one()
    assert labels == 0


def test_empty_descriptions_are_stored_as_null(engine: Engine, rakuten_files: tuple[Path, Path]) -> None:
    ingest_rakuten(engine, *rakuten_files)
    x_frame = pd.read_csv(rakuten_files[0], index_col=0)
    with engine.connect() as connection:
        missing = connection.execute(select(func.count()).where(Product.description.is_(None))).scalar_one()
    assert missing == x_frame["description"].isna().sum() > 0


def _rewrite(path: Path, edit: callable) -> None:  # type: ignore[valid-type]
    frame = pd.read_csv(path, index_col=0, dtype=str, keep_default_na=False)
    edit(frame)
    frame.to_csv(path)


MALFORMED = {
    "missing column": (
        lambda x, y: _rewrite(x, lambda f: f.drop(columns=["description"], inplace=True)),
        ["X_train.csv", "column 'description'", "missing column"],
    ),
    "non-integer code": (
        lambda x, y: _rewrite(
            y,
            lambda f: f.__setitem__("prdtypecode", f["prdtypecode"].where(f.index != f.index[450], "livres")),
        ),
        ["Y_train.csv", "column 'prdtypecode'", "row 451", "expected an integer", "'livres'"],
    ),
    "empty designation": (
        lambda x, y: _rewrite(
            x, lambda f: f.__setitem__("designation", f["designation"].where(f.index != f.index[300], "  "))
        ),
        ["X_train.csv", "column 'designation'", "row 301", "empty designation"],
    ),
    "fewer labels than listings": (
        lambda x, y: _rewrite(y, lambda f: f.drop(index=f.index[-5:], inplace=True)),
        ["Y_train.csv", "fewer rows than X_train.csv", "row 596"],
    ),
    "more labels than listings": (
        lambda x, y: _rewrite(x, lambda f: f.drop(index=f.index[-1:], inplace=True)),
        ["Y_train.csv", "more rows than X_train.csv", "row 600"],
    ),
    "index mismatch": (
        lambda x, y: _rewrite(y, lambda f: f.rename(index={f.index[520]: "999999"}, inplace=True)),
        ["Y_train.csv", "row 521", "index 999999 does not match"],
    ),
    "undecodable bytes": (
        lambda x, y: x.write_bytes(x.read_bytes().replace(b"\n", b"\ncaf\xe9 ", 1)),
        ["X_train.csv", "line 2", "not UTF-8", "nothing was written"],
    ),
    "no index column": (
        lambda x, y: pd.read_csv(x, index_col=0).to_csv(x, index=False),
        ["X_train.csv", "first column must be the unnamed row index", "column 'designation'"],
    ),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_rakuten_files_change_nothing(
    engine: Engine, rakuten_files: tuple[Path, Path], case: str
) -> None:
    ingest_sample(engine, 200, seed=1)
    before = product_count(engine)
    corrupt, fragments = MALFORMED[case]
    corrupt(*rakuten_files)
    with pytest.raises(ValidationError) as caught:
        ingest_rakuten(engine, *rakuten_files, chunk_rows=100)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    assert "Traceback" not in message
    assert product_count(engine) == before
    last = batches(engine)[-1]
    assert (last.status, last.inserted, last.error) == ("rejected", 0, message)


def test_generic_csv_with_several_text_columns(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "shop.csv"
    pd.DataFrame(
        {
            "title": ["Lampe de chevet", "Chaise pliante", "Roman policier"],
            "body": ["LED", "", "poche"],
            "extra": ["blanc", "bois", ""],
            "category": ["lighting", "furniture", ""],
        }
    ).to_csv(path, index=False)
    result = ingest_table(engine, path, ["title", "body", "extra"], "category")
    assert result.inserted == 3
    with engine.connect() as connection:
        rows = connection.execute(
            select(Product.designation, Product.description, Product.label).order_by(Product.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("Lampe de chevet", "LED blanc", "lighting"),
        ("Chaise pliante", "bois", "furniture"),
        ("Roman policier", "poche", None),
    ]


def test_parquet_file(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "shop.parquet"
    generate_listings(300, seed=5).to_parquet(path)
    result = ingest_table(engine, path, ["designation", "description"], "prdtypecode", chunk_rows=128)
    assert (result.rows_read, result.inserted) == (300, 300)


def test_generic_csv_missing_label_column_names_it(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "shop.csv"
    pd.DataFrame({"title": ["a"], "label": ["x"]}).to_csv(path, index=False)
    with pytest.raises(
        ValidationError,
        match=r"shop.csv, column 'category': missing column \(the file has: 'title', 'label'\)",
    ):
        ingest_table(engine, path, ["title"], "category")
    assert product_count(engine) == 0


def test_error_in_a_late_chunk_rolls_back_earlier_chunks(engine: Engine, tmp_path: Path) -> None:
    frame = generate_listings(1_000, seed=11)
    frame.loc[frame.index[950], "designation"] = ""
    x, y = tmp_path / "X.csv", tmp_path / "Y.csv"
    write_rakuten_files(frame, x, y)
    with pytest.raises(ValidationError, match="row 951"):
        ingest_rakuten(engine, x, y, chunk_rows=100)
    assert product_count(engine) == 0
