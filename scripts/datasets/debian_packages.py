"""Debian package descriptions: the package's name and synopsis, its long description, its Section.

The rows come from apt's package indexes (every package the machine's sources offer) or from dpkg's
status file (the installed packages only). In apt's indexes the long descriptions live in the
`Translation-en` files; images built for containers switch those off (`Acquire::Languages "none"`), and
`apt-get update -o Acquire::Languages=en` brings them back. A package without one keeps an empty
description, as 35% of the challenge's listings do. The Section ("libs", "python", "games", ...; a
"contrib/" or "non-free/" prefix dropped) is the label; sections with fewer than `min_rows` packages
are left out.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
from scripts.datasets.common import TextDataset

DPKG_STATUS = Path("/var/lib/dpkg/status")
APT_HELPER = "/usr/lib/apt/apt-helper"


def paragraphs(lines: Iterable[str]) -> Iterator[dict[str, str]]:
    """The deb822 paragraphs of a control file: field -> value (continuation lines joined by newlines)."""
    fields: dict[str, str] = {}
    key: str | None = None
    for raw in lines:
        line = raw.rstrip("\n")
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t":
            if key is not None:
                fields[key] += "\n" + line[1:]
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    if fields:
        yield fields


def long_description(text: str) -> str:
    """The extended description of a Description field (after its first line), " ." lines as breaks."""
    body = text.split("\n")[1:]
    return "\n".join("" if line.strip() == "." else line.strip() for line in body).strip()


def _index_files(created_by: str) -> list[str]:
    done = subprocess.run(
        ["apt-get", "-o", "Acquire::Languages=en", "indextargets", "--format", "$(FILENAME)", f"Created-By: {created_by}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [line for line in done.stdout.splitlines() if line.strip() and Path(line).is_file()]


def _read_index(path: str) -> Iterator[str]:
    # apt-helper decompresses whatever apt stored (lz4, xz, gz or plain).
    done = subprocess.run([APT_HELPER, "cat-file", path], capture_output=True, text=True, check=True)
    return iter(done.stdout.splitlines())


def _records_from_apt() -> Iterator[tuple[str, str, str, str]]:
    packages = _index_files("Packages")
    if not packages:
        raise FileNotFoundError("apt has no package index; run `apt-get update` first")
    translated: dict[str, str] = {}
    for path in _index_files("Translations"):
        for para in paragraphs(_read_index(path)):
            if "Description-md5" in para and "Description-en" in para:
                translated[para["Description-md5"]] = para["Description-en"]
    for path in packages:
        for para in paragraphs(_read_index(path)):
            full = translated.get(para.get("Description-md5", ""), para.get("Description", ""))
            yield (
                para.get("Package", ""),
                para.get("Description", "").split("\n")[0],
                full,
                para.get("Section", ""),
            )


def _records_from_dpkg(status: Path) -> Iterator[tuple[str, str, str, str]]:
    with status.open(encoding="utf-8") as handle:
        for para in paragraphs(handle):
            text = para.get("Description", "")
            yield para.get("Package", ""), text.split("\n")[0], text, para.get("Section", "")


def build(source: str = "apt", status: Path = DPKG_STATUS, min_rows: int = 20) -> TextDataset:
    """One row per package name (the first index that lists it); sections under `min_rows` dropped."""
    if source not in {"apt", "dpkg"}:
        raise ValueError(f"source is 'apt' or 'dpkg', not {source!r}")
    records = _records_from_apt() if source == "apt" else _records_from_dpkg(status)
    seen: set[str] = set()
    rows = []
    for name, synopsis, full, section in records:
        if not name or not synopsis or not section or name in seen:
            continue
        seen.add(name)
        rows.append((f"{name}: {synopsis}", long_description(full), section.rsplit("/", 1)[-1]))
    counts = Counter(section for _, _, section in rows)
    kept = sorted(s for s, n in counts.items() if n >= min_rows)
    codes = {section: code for code, section in enumerate(kept)}
    frame = pd.DataFrame(
        [(d, e, codes[s]) for d, e, s in rows if s in codes],
        columns=["designation", "description", "prdtypecode"],
    )
    where = "apt's package indexes" if source == "apt" else str(status)
    return TextDataset(
        "debian_packages", frame, {c: s for s, c in codes.items()}, f"Debian packages from {where}"
    )


def _count(relations: str) -> int:
    """How many packages a Depends-like field names (alternatives `a | b` count once)."""
    return len([part for part in relations.split(",") if part.strip()]) if relations else 0


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("nan")


def package_table(source: str = "apt", status: Path = DPKG_STATUS, min_rows: int = 200) -> pd.DataFrame:
    """A real table of packages' control fields, for AutoML: `section` is the label to predict.

    One row per package name: installed and download sizes, priority, architecture, multi-arch,
    the counts of its dependencies, recommendations, suggestions, provides and conflicts, whether
    its version has an epoch or a Debian revision, the words of its synopsis, and whether a team
    maintains it. Sections with fewer than `min_rows` packages are left out.
    """
    if source not in {"apt", "dpkg"}:
        raise ValueError(f"source is 'apt' or 'dpkg', not {source!r}")
    if source == "apt":
        paths = _index_files("Packages")
        if not paths:
            raise FileNotFoundError("apt has no package index; run `apt-get update` first")
        paragraphs_read: Iterable[dict[str, str]] = (
            p for path in paths for p in paragraphs(_read_index(path))
        )
    else:
        paragraphs_read = paragraphs(status.open(encoding="utf-8"))
    rows, seen = [], set()
    for para in paragraphs_read:
        name, section = para.get("Package", ""), para.get("Section", "").rsplit("/", 1)[-1]
        if not name or not section or name in seen:
            continue
        seen.add(name)
        version = para.get("Version", "")
        rows.append(
            {
                "installed_size_kb": _number(para.get("Installed-Size", "")),
                "download_bytes": _number(para.get("Size", "")),
                "priority": para.get("Priority") or None,
                "architecture": para.get("Architecture") or None,
                "multi_arch": para.get("Multi-Arch") or None,
                "depends": _count(para.get("Depends", "")) + _count(para.get("Pre-Depends", "")),
                "recommends": _count(para.get("Recommends", "")),
                "suggests": _count(para.get("Suggests", "")),
                "provides": _count(para.get("Provides", "")),
                "conflicts": _count(para.get("Conflicts", "")) + _count(para.get("Breaks", "")),
                "has_epoch": ":" in version,
                "has_revision": "-" in version,
                "synopsis_words": len(para.get("Description", "").split("\n")[0].split()),
                "team_maintained": any(w in para.get("Maintainer", "").lower() for w in ("team", "lists.")),
                "section": section,
            }
        )
    frame = pd.DataFrame(rows)
    counts = frame["section"].value_counts()
    return frame[frame["section"].isin(counts[counts >= min_rows].index)].reset_index(drop=True)
