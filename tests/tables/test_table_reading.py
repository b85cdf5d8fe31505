"""Reading any table: every row kept whatever the format, and each bad file refused with the file, row or column named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rakuten_mlops.errors import ValidationError
from rakuten_mlops.tables.reading import read_frame, read_table, sniff_delimiter, sniff_encoding
from rakuten_mlops.tables.samples import bundled_table


def test_the_messy_export_is_read_whole_latin1_semicolons_and_quoted_newlines(
    messy: tuple[Path, pd.DataFrame],
) -> None:
    path, written = messy
    result = read_table(path)
    frame = read_frame(path)
    assert result.format == "csv"
    assert result.options == {"delimiter": ";", "encoding": "cp1252"}
    assert len(frame) == len(written)  # duplicated rows included: nothing is dropped on reading
    assert list(frame.columns) == list(written.columns)
    assert frame["comment"].tolist() == written["comment"].tolist()  # quotes, `;` and newlines inside values
    assert any("\n" in c for c in frame["comment"])
    assert set(frame["city"].dropna()) == set(
        written["city"].dropna()
    )  # accents decoded: Orléans, Saint-Étienne
    assert frame["age"].isna().sum() == written["age"].isna().sum()


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "diabetes"])
def test_every_format_gives_the_same_rows(name: str, tmp_path: Path) -> None:
    table = bundled_table(name)  # type: ignore[arg-type]
    files = {
        "csv": tmp_path / "t.csv",
        "tsv": tmp_path / "t.tsv",
        "excel": tmp_path / "t.xlsx",
        "json": tmp_path / "t.json",
        "parquet": tmp_path / "t.parquet",
    }
    table.to_csv(files["csv"], index=False)
    table.to_csv(files["tsv"], index=False, sep="\t")
    table.to_excel(files["excel"], index=False)
    files["json"].write_text(json.dumps(table.to_dict("records")), encoding="utf-8")
    table.to_parquet(files["parquet"], index=False)
    for fmt, path in files.items():
        result = read_table(path)
        frame = read_frame(path)
        assert result.format == fmt
        assert list(frame.columns) == list(table.columns), fmt
        np.testing.assert_allclose(
            frame.to_numpy(dtype=float), table.to_numpy(dtype=float), rtol=1e-12, err_msg=fmt
        )


def test_json_lines_and_nested_values_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"a": 1, "tags": ["x", "y"]}\n{"a": 2, "b": "only here"}\n', encoding="utf-8")
    frame = read_frame(path)
    assert frame["a"].tolist() == [1, 2]
    assert json.loads(frame["tags"][0]) == ["x", "y"]
    assert frame["b"].isna().tolist() == [True, False]


def test_sniffing_picks_the_delimiter_of_the_header_and_the_encoding_of_the_bytes() -> None:
    assert sniff_delimiter('a;b;c\n1;"x, y";3\n') == ";"
    assert sniff_delimiter("a\tb\n1\t2\n") == "\t"
    assert sniff_delimiter("single\n1\n") == ","
    assert sniff_encoding("é".encode()) == "utf-8"
    assert sniff_encoding("é".encode("latin-1")) == "cp1252"
    assert sniff_encoding(b"\xef\xbb\xbfa,b\n") == "utf-8-sig"


def test_a_late_value_that_breaks_the_inferred_type_turns_the_column_into_text(tmp_path: Path) -> None:
    # pyarrow infers types on the first block: a word far down a column of numbers must not fail the read.
    path = tmp_path / "late.csv"
    rows = [f"{i},{i * 2}" for i in range(300_000)] + ["300000,unknown"]
    path.write_text("id,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    frame = read_frame(path)
    assert len(frame) == 300_001
    assert frame["value"].iloc[-1] == "unknown" and frame["value"].iloc[0] == "0"


BAD_FILES = {
    "empty.csv": (b"", "file empty.csv: is empty"),
    "blank.csv": (b"  \n\n", "file blank.csv: is empty"),
    "header.csv": (b"id,age,city\n", "file header.csv: has a header (3 columns) but no rows"),
    "binary.csv": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "file binary.csv: is binary, not a text table"),
    "ragged.csv": (
        b"a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n",
        "file ragged.csv, row 3: has 2 fields where the header has 3",
    ),
    "long.csv": (b"a,b\n1,2\n3,4,5\n", "file long.csv, row 2: has 3 fields where the header has 2"),
    "twice.csv": (
        b"id,price,id\n1,2,3\n",
        "file twice.csv, column 'id': the header names this column twice (columns 1 and 3)",
    ),
    "notjson.json": (b'{"a": 1', "file notjson.json: is not JSON"),
    "scalars.json": (b"[1, 2]", "file scalars.json, row 1: is not a JSON object"),
    "keys.json": (b'[{"a": 1, "a": 2}]', "file keys.json, column 'a': a record names this key twice"),
    "fake.xlsx": (b"id,age\n1,2\n", "file fake.xlsx: has a .xlsx name but is not a excel file"),
    "broken.parquet": (b"PAR1 not really", "file broken.parquet: is not a readable Parquet file"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_each_bad_file_is_refused_with_a_clear_message(name: str, tmp_path: Path) -> None:
    content, message = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValidationError) as caught:
        read_table(path)
    assert str(caught.value).startswith(message), str(caught.value)
    assert str(caught.value).endswith("nothing was written")


def test_an_excel_header_with_a_name_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sheet.xlsx"
    pd.DataFrame([["id", "x", "id"], [1, 2, 3]]).to_excel(path, index=False, header=False)
    with pytest.raises(
        ValidationError, match=r"file sheet.xlsx, column 'id': the header names this column twice"
    ):
        read_table(path)


def test_an_upload_is_named_by_its_original_name_not_the_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "tmp123"
    path.write_bytes(b"a,b\n1\n")
    with pytest.raises(ValidationError, match=r"^file sales.csv, row 1"):
        read_table(path, name="sales.csv")
