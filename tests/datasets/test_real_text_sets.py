"""Real labelled text from Debian packages becomes challenge files the ingestion accepts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from scripts.datasets import debian_packages, wordnet
from scripts.datasets.common import write_challenge_files
from tests.tools import missing

from rakuten_mlops.config import Settings
from rakuten_mlops.data.catalogue import load_labelled
from rakuten_mlops.data.ingestion import ingest_rakuten
from rakuten_mlops.db import make_engine, upgrade

WORDNET = Path("/usr/share/wordnet")
SYNSET = (
    "02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 023 @ 02083346 n 0000 | a member of the "
    'genus Canis (probably descended from the common wolf); "the dog barked all night"  \n'
)
STATUS = """Package: tzdata
Status: install ok installed
Section: localization
Description: time zone and daylight-saving time data
 This package contains data required for the implementation of
 standard local time for many representative locations around the
 globe.
 .
 It is updated periodically to reflect changes.

Package: no-section
Description: a package without a section is left out

Package: zlib1g
Section: libs
Description: compression library - runtime
 zlib is a library implementing the deflate compression method.
"""


def require_wordnet() -> None:
    if not (WORDNET / "data.noun").is_file():
        missing("Debian's wordnet-base (/usr/share/wordnet)", "make system-deps")


def test_a_synset_line_gives_lemmas_gloss_and_lexicographer_file() -> None:
    lemmas, gloss, lexfile = wordnet.parse_synset(SYNSET)  # type: ignore[misc]
    assert lemmas == "dog, domestic dog, Canis familiaris"
    assert gloss.startswith("a member of the genus Canis") and gloss.endswith('"the dog barked all night"')
    assert wordnet.LEXNAMES[lexfile] == "noun.animal"
    assert wordnet.parse_synset("  1 This software and database is being provided ...") is None


def test_wordnet_has_every_synset_in_45_classes() -> None:
    require_wordnet()
    dataset = wordnet.build()
    assert (dataset.rows, dataset.classes) == (117_659, 45)
    assert set(dataset.labels.values()) == set(wordnet.LEXNAMES)
    assert dataset.frame["designation"].str.len().min() > 0


def test_the_challenge_files_ingest_with_their_codes(settings: Settings, tmp_path: Path) -> None:
    require_wordnet()
    dataset = wordnet.build(limit=40)
    files = write_challenge_files(dataset, tmp_path / "wordnet")
    engine = make_engine(settings.db_url)
    upgrade(engine)
    assert ingest_rakuten(engine, files.x, files.y).inserted == dataset.rows == 160
    stored = load_labelled(engine, settings.split_seed)
    engine.dispose()
    assert sorted(stored["label"].unique()) == sorted(str(c) for c in dataset.frame["prdtypecode"].unique())
    names = files.labels.read_text(encoding="utf-8").splitlines()
    assert names[0] == "prdtypecode,label,rows" and "5,noun.animal," in "\n".join(names)


def test_debian_descriptions_become_rows_labelled_by_section(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text(STATUS, encoding="utf-8")
    dataset = debian_packages.build("dpkg", status=status, min_rows=1)
    rows = dataset.frame.to_dict("records")
    assert [r["designation"] for r in rows] == [
        "tzdata: time zone and daylight-saving time data",
        "zlib1g: compression library - runtime",
    ]
    assert rows[0]["description"].endswith("the\nglobe.\n\nIt is updated periodically to reflect changes.")
    assert [dataset.labels[r["prdtypecode"]] for r in rows] == ["localization", "libs"]
    assert debian_packages.build("dpkg", status=status, min_rows=2).rows == 0


def test_this_machines_packages_give_a_labelled_set() -> None:
    if not debian_packages.DPKG_STATUS.is_file():
        missing("a Debian system (/var/lib/dpkg/status)", "run on Debian")
    installed = debian_packages.build("dpkg", min_rows=5)
    assert installed.rows > 100 and installed.classes >= 3
    if shutil.which("apt-get") is None:
        return
    try:
        available = debian_packages.build("apt")
    except FileNotFoundError:
        pytest.skip("apt has no package index here (apt-get update)")
    assert available.rows > installed.rows and "libs" in available.labels.values()


def test_an_unknown_source_is_refused() -> None:
    with pytest.raises(ValueError, match="'apt' or 'dpkg'"):
        debian_packages.build("rpm")
