"""WordNet 3.0 (Debian's `wordnet-base`): each synset's lemmas, its gloss and its lexicographer file.

A synset line of `data.{noun,verb,adj,adv}` is `offset lex_filenum ss_type w_cnt (word lex_id)+ ... | gloss`
(wndb(5WN)); the lexicographer file (noun.artifact, verb.motion, ...) is the label: 117,659 rows, 45
classes. Lemmas become the designation ("dwarf, midget"), the gloss the description.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from scripts.datasets.common import TextDataset

WORDNET_DIR = Path("/usr/share/wordnet")
PARTS = ("noun", "verb", "adj", "adv")
# lexnames(5WN): the lexicographer files in number order.
LEXNAMES = [
    "adj.all",
    "adj.pert",
    "adv.all",
    "noun.Tops",
    "noun.act",
    "noun.animal",
    "noun.artifact",
    "noun.attribute",
    "noun.body",
    "noun.cognition",
    "noun.communication",
    "noun.event",
    "noun.feeling",
    "noun.food",
    "noun.group",
    "noun.location",
    "noun.motive",
    "noun.object",
    "noun.person",
    "noun.phenomenon",
    "noun.plant",
    "noun.possession",
    "noun.process",
    "noun.quantity",
    "noun.relation",
    "noun.shape",
    "noun.state",
    "noun.substance",
    "noun.time",
    "verb.body",
    "verb.change",
    "verb.cognition",
    "verb.communication",
    "verb.competition",
    "verb.consumption",
    "verb.contact",
    "verb.creation",
    "verb.emotion",
    "verb.motion",
    "verb.perception",
    "verb.possession",
    "verb.social",
    "verb.stative",
    "verb.weather",
    "adj.ppl",
]
# Adjective lemmas may carry a syntactic marker: "(a)", "(p)" or "(ip)".
_MARKER = re.compile(r"\((?:a|p|ip)\)$")


def parse_synset(line: str) -> tuple[str, str, int] | None:
    """(lemmas, gloss, lexicographer file number) of one data-file line; None for the licence header."""
    if line.startswith("  "):
        return None
    head, _, gloss = line.partition(" | ")
    fields = head.split()
    lex_filenum, count = int(fields[1]), int(fields[3], 16)
    words = fields[4 : 4 + 2 * count : 2]
    lemmas = ", ".join(_MARKER.sub("", w).replace("_", " ") for w in words)
    return lemmas, gloss.strip(), lex_filenum


def build(folder: Path = WORDNET_DIR, limit: int | None = None) -> TextDataset:
    """Every synset of the four data files (or the first `limit` of each), in file order."""
    paths = [folder / f"data.{part}" for part in PARTS]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise FileNotFoundError(f"{', '.join(absent)} not found; install Debian's wordnet-base package")
    rows: list[tuple[str, str, int]] = []
    for path in paths:
        taken = 0
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                parsed = parse_synset(line)
                if parsed is None:
                    continue
                rows.append(parsed)
                taken += 1
                if limit is not None and taken >= limit:
                    break
    frame = pd.DataFrame(rows, columns=["designation", "description", "prdtypecode"])
    labels = {number: name for number, name in enumerate(LEXNAMES)}
    return TextDataset("wordnet", frame, labels, f"WordNet 3.0 data files in {folder}")
