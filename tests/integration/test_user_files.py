"""Files users really have: Excel's BOM, other delimiters, ragged rows, header-only files, NUL bytes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from rakuten_mlops.data.ingestion import ingest_rakuten, ingest_table
from rakuten_mlops.data.sample import generate_listings, write_rakuten_files
from rakuten_mlops.db.models import IngestionBatch, Product
from rakuten_mlops.errors import ValidationError


def products(engine: Engine) -> list[tuple[str, str | None, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Product.designation, Product.description, Product.label).order_by(Product.id)
        ).all()
    return [tuple(r) for r in rows]


def last_batch(engine: Engine) -> IngestionBatch:
    with engine.connect() as connection:
        return connection.execute(select(IngestionBatch).order_by(IngestionBatch.id.desc()).limit(1)).one()


SHOP = [("Tasse à café", "porcelaine", "kitchen"), ("Roman policier", None, "books")]


def test_an_excel_csv_utf8_file_with_a_byte_order_mark_is_read(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "\ufefftitle,body,category\r\nTasse à café,porcelaine,kitchen\r\nRoman policier,,books\r\n".encode()
    )
    result = ingest_table(engine, path, ["title", "body"], "category")
    assert (result.status, result.inserted, result.notes) == ("succeeded", 2, [])
    assert products(engine) == SHOP


def test_challenge_files_saved_by_excel_with_a_byte_order_mark_are_read(
    engine: Engine, tmp_path: Path
) -> None:
    x, y = tmp_path / "X.csv", tmp_path / "Y.csv"
    write_rakuten_files(generate_listings(50, seed=3), x, y)
    for path in (x, y):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert ingest_rakuten(engine, x, y).inserted == 50


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_a_file_with_another_delimiter_is_read_and_the_delimiter_reported(
    engine: Engine, tmp_path: Path, delimiter: str, name: str
) -> None:
    path = tmp_path / "shop.csv"
    pd.DataFrame(SHOP, columns=["title", "body", "category"]).to_csv(path, sep=delimiter, index=False)
    result = ingest_table(engine, path, ["title", "body"], "category")
    assert result.inserted == 2
    assert result.notes == [f"shop.csv was read as {name}-separated ({delimiter!r})"]
    assert products(engine) == SHOP


def test_challenge_files_separated_by_semicolons_are_read(engine: Engine, tmp_path: Path) -> None:
    frame = generate_listings(60, seed=4)
    x, y = tmp_path / "X.csv", tmp_path / "Y.csv"
    write_rakuten_files(frame, x, y)
    for path in (x, y):
        pd.read_csv(path, index_col=0, dtype=str).to_csv(path, sep=";")
    result = ingest_rakuten(engine, x, y)
    assert result.inserted == 60 and len(result.notes) == 2
    assert {d for d, _, _ in products(engine)} == set(frame["designation"].str.strip())


def _rejected(engine: Engine, path: Path, fragments: list[str]) -> None:
    """Ingesting `path` (column title, label category) is refused with every fragment in the message;
    no product is written and the attempt is recorded as rejected."""
    before = products(engine)
    with pytest.raises(ValidationError) as caught:
        ingest_table(engine, path, ["title"], "category", chunk_rows=1_000)
    message = str(caught.value)
    for fragment in [f"file {path}", *fragments, "nothing was written"]:
        assert fragment in message
    assert products(engine) == before
    batch = last_batch(engine)
    assert (batch.status, batch.inserted, batch.error) == ("rejected", 0, message)


REJECTED = {
    "header without rows": (b"title,category\n", ["has a header but no rows"]),
    "header without rows, BOM and CRLF": (b"\xef\xbb\xbftitle,category\r\n", ["has a header but no rows"]),
    "one row with more fields than the header": (
        b"title,category\nTasse,kitchen\nRoman, policier,books\nLampe,home\n",
        ["row 2", "has 3 fields where the header has 2", "'Roman, policier,books'"],
    ),
    "every row with one field more": (
        b"title,category\nTasse,kitchen,x\nLampe,home,y\n",
        ["row 1", "has 3 fields where the header has 2"],
    ),
    "a row with fewer fields, after a quoted line break": (
        b'title,category\n"Tasse\nblanche",kitchen\nLampe\n',
        ["row 2", "has 1 field where the header has 2"],
    ),
    "semicolons without the mapped columns": (
        b"name;cat\nTasse;kitchen\n",
        ["column 'title'", "the file has: 'name', 'cat' when read as semicolon-separated (';')"],
    ),
    "a header naming a column twice": (
        b"title,category,title\nTasse,kitchen,Mug\n",
        ["column 'title'", "names this column twice (fields 1 and 3)"],
    ),
    "a NUL byte in a text cell": (
        b"title,category\nTasse,kitchen\nRoman\x00 policier,books\n",
        ["column 'title'", "row 2", "NUL character", "'Roman\\x00 policier'"],
    ),
    "a NUL byte in a quoted label": (
        b'title,category\nTasse,"kit\x00chen"\n',
        ["column 'category'", "row 1", "NUL character"],
    ),
    "UTF-16 (Excel's Unicode Text)": (
        "title,category\nTasse,kitchen\n".encode("utf-16"),
        ["UTF-16", "UTF-8"],
    ),
    "an empty file": (b"", ["the file is empty"]),
}


@pytest.mark.parametrize("case", REJECTED, ids=list(REJECTED))
def test_a_malformed_csv_is_rejected_naming_file_column_or_row(
    engine: Engine, tmp_path: Path, case: str
) -> None:
    content, fragments = REJECTED[case]
    path = tmp_path / "shop.csv"
    path.write_bytes(content)
    _rejected(engine, path, fragments)


def test_a_ragged_row_far_into_a_large_file_is_named(engine: Engine, tmp_path: Path) -> None:
    # About 1.5 MB, read in several blocks; every value of the body spans two lines.
    lines = [f'Objet {i},"ligne {i}\nsuite",cat{i % 5}' for i in range(1, 50_001)]
    lines[43_209] += ",extra"
    path = tmp_path / "big.csv"
    path.write_text("title,body,category\n" + "\n".join(lines) + "\n", encoding="utf-8")
    _rejected(engine, path, ["row 43210", "has 4 fields where the header has 3"])


def test_a_nul_in_a_challenge_file_is_rejected_on_both_databases_alike(
    engine: Engine, tmp_path: Path
) -> None:
    frame = generate_listings(30, seed=5)
    frame.loc[17, "description"] = "avant\x00après"
    x, y = tmp_path / "X.csv", tmp_path / "Y.csv"
    write_rakuten_files(frame, x, y)
    with pytest.raises(
        ValidationError, match=r"X.csv, column 'description', row 18: contains a NUL character"
    ):
        ingest_rakuten(engine, x, y)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Product)).scalar_one() == 0
    assert last_batch(engine).status == "rejected"


def test_a_nul_in_a_parquet_file_is_rejected(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "shop.parquet"
    pd.DataFrame({"title": ["Tasse", "Ro\x00man"], "category": ["kitchen", "books"]}).to_parquet(path)
    _rejected(engine, path, ["column 'title'", "row 2", "NUL character"])


def test_a_parquet_file_without_rows_or_with_a_nested_column_is_rejected(
    engine: Engine, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.parquet"
    pd.DataFrame({"title": pd.Series([], dtype=str), "category": pd.Series([], dtype=str)}).to_parquet(empty)
    _rejected(engine, empty, ["has no rows"])
    nested = tmp_path / "nested.parquet"
    pd.DataFrame({"title": [["a", "b"]], "category": ["x"]}).to_parquet(nested)
    _rejected(engine, nested, ["column 'title'", "not text or numbers"])


def test_a_header_only_challenge_file_is_rejected_with_a_record(engine: Engine, tmp_path: Path) -> None:
    x, y = tmp_path / "X.csv", tmp_path / "Y.csv"
    x.write_text(",designation,description,productid,imageid\n", encoding="utf-8")
    y.write_text(",prdtypecode\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"X.csv: has a header but no rows; nothing was written"):
        ingest_rakuten(engine, x, y)
    assert last_batch(engine).status == "rejected"
