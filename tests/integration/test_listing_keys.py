"""Listings keyed by the product: the natural key is the identity, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from rakuten_mlops.data.catalogue import load_labelled
from rakuten_mlops.data.ingestion import ingest_rakuten, ingest_table
from rakuten_mlops.data.sample import generate_listings, write_rakuten_files
from rakuten_mlops.db.models import IngestionBatch, Product, ProductChange
from rakuten_mlops.errors import ValidationError


def product_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Product)).scalar_one()


def history(engine: Engine) -> list[tuple[str, str, str | None, str | None, int]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ProductChange.listing_key,
                ProductChange.field,
                ProductChange.old_value,
                ProductChange.new_value,
                ProductChange.batch_id,
                ProductChange.changed_at,
            ).order_by(ProductChange.listing_key, ProductChange.field)
        ).all()
    assert all(r.changed_at is not None for r in rows)
    return [(r.listing_key, r.field, r.old_value, r.new_value, r.batch_id) for r in rows]


@pytest.fixture(scope="module")
def repeated_texts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 6,000-row challenge file in which 40 products repeat the text and label of 40 others."""
    frame = generate_listings(6_000, seed=21)
    copied = ["designation", "description", "prdtypecode"]
    frame.loc[3_000:3_039, copied] = frame.loc[0:39, copied].to_numpy()
    distinct = frame.assign(d=frame["designation"].str.strip(), s=frame["description"].str.strip())
    assert len(distinct.drop_duplicates(["d", "s", "prdtypecode"])) == 5_960  # the file really repeats texts
    folder = tmp_path_factory.mktemp("repeated")
    x, y = folder / "X_train.csv", folder / "Y_train.csv"
    write_rakuten_files(frame, x, y)
    return x, y


def test_every_product_of_a_challenge_file_is_kept_even_when_texts_repeat(
    engine: Engine, repeated_texts: tuple[Path, Path]
) -> None:
    result = ingest_rakuten(engine, *repeated_texts, chunk_rows=2_500)
    assert (result.rows_read, result.inserted, result.updated, result.duplicates) == (6_000, 6_000, 0, 0)
    assert product_count(engine) == 6_000
    with engine.connect() as connection:
        keys = set(connection.execute(select(Product.listing_key)).scalars())
    x = pd.read_csv(repeated_texts[0], index_col=0)
    assert keys == set(x["productid"].astype(str))

    again = ingest_rakuten(engine, *repeated_texts, chunk_rows=2_500)
    assert (again.inserted, again.updated, again.duplicates) == (0, 0, 6_000)
    assert product_count(engine) == 6_000
    with engine.connect() as connection:
        recorded = connection.execute(
            select(IngestionBatch.inserted, IngestionBatch.updated, IngestionBatch.duplicates).order_by(
                IngestionBatch.id
            )
        ).all()
    assert [tuple(r) for r in recorded] == [(6_000, 0, 0), (0, 0, 6_000)]


@pytest.fixture
def challenge_files(tmp_path: Path) -> tuple[pd.DataFrame, Path, Path]:
    frame = generate_listings(600, seed=7)
    x, y = tmp_path / "X_train.csv", tmp_path / "Y_train.csv"
    write_rakuten_files(frame, x, y)
    return frame, x, y


def test_a_corrected_label_or_text_updates_its_row_is_counted_and_kept_in_history(
    engine: Engine, challenge_files: tuple[pd.DataFrame, Path, Path], tmp_path: Path
) -> None:
    frame, x, y = challenge_files
    first = ingest_rakuten(engine, x, y, chunk_rows=250)
    splits_before = load_labelled(engine, seed=42).set_index("listing_key")["split"]

    corrected = frame.copy()
    codes = sorted(frame["prdtypecode"].unique())
    relabelled = [5, 260, 599]  # in the first, second and last chunk
    for row in relabelled:
        corrected.loc[row, "prdtypecode"] = next(c for c in codes if c != frame.loc[row, "prdtypecode"])
    corrected.loc[300, "description"] = "Nouvelle description corrigée"
    x2, y2 = tmp_path / "X_fixed.csv", tmp_path / "Y_fixed.csv"
    write_rakuten_files(corrected, x2, y2)
    second = ingest_rakuten(engine, x2, y2, chunk_rows=250)

    assert (second.inserted, second.updated, second.duplicates) == (0, 4, 596)
    assert product_count(engine) == 600
    with engine.connect() as connection:
        batch = connection.execute(
            select(IngestionBatch.updated).where(IngestionBatch.id == second.batch_id)
        ).scalar_one()
        stored = dict(connection.execute(select(Product.listing_key, Product.label)).tuples().all())
    assert batch == 4
    key = {row: str(frame.loc[row, "productid"]) for row in [*relabelled, 300]}
    for row in relabelled:
        assert stored[key[row]] == str(corrected.loc[row, "prdtypecode"])
    old_description = frame.loc[300, "description"].strip() or None
    assert history(engine) == sorted(
        [
            *(
                (
                    key[row],
                    "label",
                    str(frame.loc[row, "prdtypecode"]),
                    str(corrected.loc[row, "prdtypecode"]),
                    second.batch_id,
                )
                for row in relabelled
            ),
            (key[300], "description", old_description, "Nouvelle description corrigée", second.batch_id),
        ]
    )
    assert first.batch_id != second.batch_id
    # A corrected listing stays in its split.
    splits_after = load_labelled(engine, seed=42).set_index("listing_key")["split"]
    assert splits_after.loc[list(key.values())].tolist() == splits_before.loc[list(key.values())].tolist()
    assert (splits_after.sort_index() == splits_before.sort_index()).all()


def test_a_file_without_labels_never_erases_known_labels(
    engine: Engine, challenge_files: tuple[pd.DataFrame, Path, Path]
) -> None:
    _, x, y = challenge_files
    ingest_rakuten(engine, x, y)
    unlabelled = ingest_rakuten(engine, x, None)
    assert (unlabelled.inserted, unlabelled.updated, unlabelled.duplicates) == (0, 0, 600)
    with engine.connect() as connection:
        labelled = connection.execute(select(func.count()).where(Product.label.is_not(None))).scalar_one()
    assert labelled == 600 and history(engine) == []


def test_a_rejected_correction_changes_no_row_and_writes_no_history(
    engine: Engine, challenge_files: tuple[pd.DataFrame, Path, Path], tmp_path: Path
) -> None:
    frame, x, y = challenge_files
    ingest_rakuten(engine, x, y)
    corrected = frame.copy()
    corrected.loc[3, "prdtypecode"] = 10 if frame.loc[3, "prdtypecode"] != 10 else 40
    corrected.loc[550, "designation"] = " "  # the last chunk is invalid
    x2, y2 = tmp_path / "X_fixed.csv", tmp_path / "Y_fixed.csv"
    write_rakuten_files(corrected, x2, y2)
    with pytest.raises(ValidationError, match="row 551"):
        ingest_rakuten(engine, x2, y2, chunk_rows=100)
    with engine.connect() as connection:
        label = connection.execute(
            select(Product.label).where(Product.listing_key == str(frame.loc[3, "productid"]))
        ).scalar_one()
    assert label == str(frame.loc[3, "prdtypecode"])
    assert history(engine) == []


def _write(path: Path, frame: pd.DataFrame) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_id_column_is_the_identity_of_a_csv_or_parquet_file(
    engine: Engine, tmp_path: Path, suffix: str
) -> None:
    shop = pd.DataFrame(
        {
            "sku": [101, 102, 103],
            "title": ["Tasse à café", "Tasse à café", "Roman policier"],
            "category": ["kitchen", "kitchen", "books"],
        }
    )
    path = _write(tmp_path / f"shop{suffix}", shop)
    first = ingest_table(engine, path, ["title"], "category", id_column="sku")
    assert (first.inserted, first.updated) == (3, 0)  # two products with the same text stay two
    assert ingest_table(engine, path, ["title"], "category", id_column="sku").duplicates == 3

    shop.loc[1, "category"] = "gifts"
    path = _write(tmp_path / f"shop_fixed{suffix}", shop)
    fixed = ingest_table(engine, path, ["title"], "category", id_column="sku")
    assert (fixed.inserted, fixed.updated, fixed.duplicates) == (0, 1, 2)
    with engine.connect() as connection:
        stored = dict(connection.execute(select(Product.listing_key, Product.label)).tuples().all())
    assert stored == {"101": "kitchen", "102": "gifts", "103": "books"}
    assert history(engine) == [("102", "label", "kitchen", "gifts", fixed.batch_id)]


def test_without_an_id_the_text_and_label_are_the_identity(engine: Engine, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "shop.csv",
        pd.DataFrame({"title": ["Tasse", "Tasse", "Livre"], "category": ["kitchen", "kitchen", "books"]}),
    )
    first = ingest_table(engine, path, ["title"], "category")
    assert (first.inserted, first.duplicates) == (2, 1)
    relabelled = _write(tmp_path / "fixed.csv", pd.DataFrame({"title": ["Tasse"], "category": ["gifts"]}))
    # Without a key nothing says this is the same product: it is a new listing, not an update.
    assert (ingest_table(engine, relabelled, ["title"], "category").inserted, product_count(engine)) == (1, 3)
    with engine.connect() as connection:
        keys = list(connection.execute(select(Product.listing_key)).scalars())
    assert all(k.startswith("sha256:") and len(k) == 71 for k in keys)


ID_PROBLEMS = {
    "repeated id": (
        "sku,title\n7,Tasse\n8,Livre\n7,Lampe\n",
        ["column 'sku'", "row 3", "already used on row 1"],
    ),
    "repeated id in a later chunk": (
        "sku,title\n" + "".join(f"{i},Objet {i}\n" for i in range(1, 8)) + "2,Doublon\n",
        ["column 'sku'", "row 8", "already used on row 2", "'2'"],
    ),
    "empty id": ("sku,title\n7,Tasse\n ,Livre\n", ["column 'sku'", "row 2", "empty id"]),
    "id too long": ("sku,title\n" + "x" * 129 + ",Tasse\n", ["column 'sku'", "row 1", "longer than 128"]),
}


@pytest.mark.parametrize("case", ID_PROBLEMS, ids=list(ID_PROBLEMS))
def test_a_bad_id_rejects_the_file_naming_the_row(engine: Engine, tmp_path: Path, case: str) -> None:
    content, fragments = ID_PROBLEMS[case]
    path = tmp_path / "shop.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        ingest_table(engine, path, ["title"], None, id_column="sku", chunk_rows=3)
    for fragment in [str(path), *fragments]:
        assert fragment in str(caught.value)
    assert product_count(engine) == 0


def test_a_repeated_productid_rejects_a_challenge_file(
    engine: Engine, challenge_files: tuple[pd.DataFrame, Path, Path], tmp_path: Path
) -> None:
    frame, _, _ = challenge_files
    frame.loc[450, "productid"] = frame.loc[12, "productid"]
    x, y = tmp_path / "X.csv", tmp_path / "Y.csv"
    write_rakuten_files(frame, x, y)
    with pytest.raises(
        ValidationError, match=r"X.csv, column 'productid', row 451: id already used on row 13"
    ):
        ingest_rakuten(engine, x, y, chunk_rows=200)
    assert product_count(engine) == 0


def test_a_challenge_row_without_productid_is_rejected_naming_it(
    engine: Engine, challenge_files: tuple[pd.DataFrame, Path, Path], tmp_path: Path
) -> None:
    _, x, y = challenge_files
    frame = pd.read_csv(x, index_col=0, dtype=str, keep_default_na=False)
    frame.loc[frame.index[77], "productid"] = ""
    frame.to_csv(x)
    with pytest.raises(ValidationError, match=r"X_train.csv, column 'productid', row 78: empty id"):
        ingest_rakuten(engine, x, y)
    assert product_count(engine) == 0
