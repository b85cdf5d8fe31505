"""Synthetic Rakuten France listings: realistic, noisy, deterministic and fast to generate.

Texts are bags of words drawn per class from the pools in `sample_vocab.py`; related classes
share words, a share of listings is deliberately ambiguous, and typos, casing, HTML and
foreign words add noise, so a TF-IDF linear model scores around 0.8 weighted F1, not 1.0.
Generation is vectorised over tokens and done in chunks, so 1M rows stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from html.entities import codepoint2name
from pathlib import Path

import numpy as np
import pandas as pd

from rakuten_mlops.data import sample_vocab as vocab
from rakuten_mlops.data.categories import rakuten_categories

COLUMNS = ("designation", "description", "productid", "imageid", "prdtypecode")
CHUNK_ROWS = 50_000

# Token sources, in the order of the mixture weights below; DRIFT is only used in drift batches.
CORE, GROUP, FILLER, ATTR, FOREIGN, REF, DRIFT = range(7)
DESIGNATION_MIX = np.array([0.40, 0.22, 0.17, 0.12, 0.04, 0.05])
DESCRIPTION_MIX = np.array([0.14, 0.15, 0.53, 0.10, 0.04, 0.04])
WORD_SKEW = 1.6  # >1 makes the first words of each pool more frequent (Zipf-like)

# Difficulty: share of listings written mostly with a related class's words, and the share of
# core words borrowed from that related class in ordinary listings.
AMBIGUOUS_SHARE = 0.22
AMBIGUOUS_LEAK = 0.70
BASE_LEAK = 0.06

# Noise and formatting rates.
TYPO_RATE = 0.03
DESIGNATION_CASE = (0.05, 0.25)  # (UPPER, Title) share of designation tokens
DESCRIPTION_CASE = (0.01, 0.03)
EMPTY_DESCRIPTION = {False: 0.35, True: 0.10}
HTML_SHARE = 0.45  # of non-empty descriptions
HTML_TOKEN_RATE = 0.05
REPEAT_DESIGNATION = 0.15  # descriptions that start with the designation
WHITESPACE_NOISE = 0.03
DRIFT_ROW_SHARE = 0.6  # rows of a drift batch that mention new product lines
DRIFT_TOKEN_RATE = 0.10

_ENTITIES = {**{ch: f"&{codepoint2name[ord(ch)]};" for ch in "éèêàâçôîùûëï"}, "'": "&#39;"}
_REFERENCE_FORMATS = (
    "Réf. {d}{a}-{n}",
    "ref:{a}{b}{n}",
    "EAN 3{ean}",
    "SKU-{a}{b}{n:05d}",
    "modèle {a}{b}-{m}",
)


@dataclass(frozen=True)
class _Tables:
    """Flattened word pools and per-class lookup arrays used by the vectorised sampler."""

    codes: np.ndarray  # (27,) prdtypecode per class index
    weights: np.ndarray  # (27,) real training-set sizes
    words: np.ndarray  # object array: 6 variant blocks of `size` words each
    size: int
    offsets: np.ndarray  # first word of each pool
    lengths: np.ndarray  # words in each pool
    source_pool: np.ndarray  # (27, 7) pool per class index and token source (GROUP: first group)
    groups: np.ndarray  # (27, 2) group pools per class, padded with the first
    siblings: np.ndarray  # (27, k) related class indices, padded
    n_siblings: np.ndarray  # (27,)
    html_pool: int


def _typo(word: str, rng: np.random.Generator, swap: bool) -> str:
    """Swap two adjacent letters (swap=True) or drop one letter of a word."""
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 1))
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :] if swap else word[:i] + word[i + 1 :]


def _references(count: int) -> list[str]:
    """Product reference codes like 'Réf. 4X-2231' or 'EAN 3760...' (fixed, seed-independent)."""
    rng = np.random.default_rng(20_240)
    letters = np.array(list("ABCDEFGHJKLMNPRSTUVWXZ"))
    out = []
    for k in range(count):
        a, b = letters[rng.integers(0, len(letters), 2)]
        n, d, ean = int(rng.integers(100, 99_999)), int(rng.integers(1, 9)), int(rng.integers(10**11, 10**12))
        out.append(_REFERENCE_FORMATS[k % 5].format(a=a, b=b, n=n, d=d, ean=ean, m=n % 1000))
    return out


@cache
def _tables() -> _Tables:
    """Build (once) the flat vocabulary with its typo, case and HTML-entity variants."""
    cats = rakuten_categories()
    codes = np.array([c.code for c in cats], dtype=np.int64)
    group_names = list(vocab.GROUPS)
    drift_codes = list(vocab.DRIFT_CORE)
    pools: list[tuple[str, ...]] = [vocab.CORE[int(c)] for c in codes]
    pools += [vocab.GROUPS[g] for g in group_names]
    fixed = len(pools)
    pools += [vocab.FILLER, vocab.ATTRIBUTES, vocab.FOREIGN, tuple(_references(2_000)), vocab.HTML_TOKENS]
    pools += [vocab.DRIFT_CORE[c] for c in drift_codes] + [vocab.DRIFT_GENERIC]
    lengths = np.array([len(p) for p in pools], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    base = [w for p in pools for w in p]
    rng = np.random.default_rng(7)
    entity = ["".join(_ENTITIES.get(ch, ch) for ch in w) for w in base]
    blocks = [base, [_typo(w, rng, True) for w in base], [_typo(w, rng, False) for w in base]]
    blocks += [[w.upper() for w in base], [w.title() for w in base], entity]
    words = np.array([w for block in blocks for w in block], dtype=object)

    n = len(codes)
    source_pool = np.zeros((n, 7), dtype=np.int64)
    groups = np.zeros((n, 2), dtype=np.int64)
    members: dict[str, list[int]] = {g: [] for g in group_names}
    for i, code in enumerate(codes.tolist()):
        own = [fixed - len(group_names) + group_names.index(g) for g in vocab.CLASS_GROUPS[code]]
        groups[i] = (own + own)[:2]
        drift = drift_codes.index(code) if code in vocab.DRIFT_CORE else len(drift_codes)
        source_pool[i] = [i, own[0], fixed, fixed + 1, fixed + 2, fixed + 3, fixed + 5 + drift]
        for g in vocab.CLASS_GROUPS[code]:
            members[g].append(i)
    related = [
        sorted({j for g in vocab.CLASS_GROUPS[int(c)] for j in members[g]} - {i}) for i, c in enumerate(codes)
    ]
    width = max(len(r) for r in related)
    return _Tables(
        codes=codes,
        weights=np.array([c.train_rows for c in cats], dtype=float),
        words=words,
        size=len(base),
        offsets=offsets,
        lengths=lengths,
        source_pool=source_pool,
        groups=groups,
        siblings=np.array([(r * width)[:width] for r in related], dtype=np.int64),
        n_siblings=np.array([len(r) for r in related], dtype=np.int64),
        html_pool=fixed + 4,
    )


@dataclass(frozen=True)
class _Rows:
    """Per-row sampling state: class index, related class, leak rate, drift-word rate, HTML flag."""

    cls: np.ndarray
    sib: np.ndarray
    leak: np.ndarray
    drift_rate: np.ndarray
    html: np.ndarray

    def take(self, idx: np.ndarray, html: np.ndarray) -> _Rows:
        """Return the rows at `idx`, with a new HTML flag."""
        return _Rows(self.cls[idx], self.sib[idx], self.leak[idx], self.drift_rate[idx], html)


def _join(tokens: np.ndarray, lengths: np.ndarray) -> list[str]:
    """Join a flat token array into one space-separated string per row (every length >= 1)."""
    n, total = lengths.size, tokens.size
    flat = np.full(total + n, "\n", dtype=object)
    row_of = np.repeat(np.arange(n), lengths)
    flat[np.arange(total) + row_of] = tokens
    return " ".join(flat.tolist())[:-2].split(" \n ")


def _field(
    rng: np.random.Generator,
    t: _Tables,
    r: _Rows,
    lengths: np.ndarray,
    mix: np.ndarray,
    case: tuple[float, float],
) -> list[str]:
    """Draw `lengths[i]` tokens for each row (source by `mix`, then pool, word and variant) and join them."""
    row = np.repeat(np.arange(lengths.size), lengths)
    total = row.size
    src = np.minimum(np.searchsorted(np.cumsum(mix / mix.sum()), rng.random(total), side="right"), REF)
    src[rng.random(total) < r.drift_rate[row]] = DRIFT
    topic = np.where(rng.random(total) < r.leak[row], r.sib[row], r.cls[row])
    pool = t.source_pool[r.cls[row], src]
    pool[src == CORE] = topic[src == CORE]
    is_group = src == GROUP
    pick = (rng.random(int(is_group.sum())) < 0.5).astype(np.int64)
    pool[is_group] = t.groups[r.cls[row[is_group]], pick]
    word = t.offsets[pool] + (rng.random(total) ** WORD_SKEW * t.lengths[pool]).astype(np.int64)
    u = rng.random(total)
    block = np.zeros(total, dtype=np.int64)  # 0 plain, 1 swap typo, 2 drop typo, 3 UPPER, 4 Title, 5 entities
    limits = np.cumsum([0.0, TYPO_RATE / 2, TYPO_RATE / 2, case[0], case[1]])
    for b in range(1, 5):
        block[(u >= limits[b - 1]) & (u < limits[b])] = b
    in_html = r.html[row]
    block[in_html & (block == 0)] = 5
    ids = block * t.size + word
    tag = in_html & (rng.random(total) < HTML_TOKEN_RATE)
    ids[tag] = t.offsets[t.html_pool] + rng.integers(0, t.lengths[t.html_pool], int(tag.sum()))
    return _join(t.words[ids], lengths)


def _unique_ids(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """Distinct, shuffled int64 ids in [low, high]: random increasing gaps, then a permutation."""
    gap = max(1, (high - low) // max(n, 1))
    return rng.permutation(low + np.cumsum(rng.integers(1, gap + 1, n, dtype=np.int64)))


def _chunk(rng: np.random.Generator, t: _Tables, cls: np.ndarray, drift: bool) -> tuple[list[str], list[str]]:
    """Generate designations and descriptions for one chunk of class indices."""
    n = cls.size
    sib = t.siblings[cls, (rng.random(n) * t.n_siblings[cls]).astype(np.int64)]
    leak = np.where(rng.random(n) < AMBIGUOUS_SHARE, AMBIGUOUS_LEAK, BASE_LEAK)
    drift_rate = (rng.random(n) < DRIFT_ROW_SHARE) * DRIFT_TOKEN_RATE * drift
    rows = _Rows(cls, sib, leak, drift_rate, html=np.zeros(n, dtype=bool))
    designation = _field(rng, t, rows, rng.integers(3, 14, n) + 2 * drift, DESIGNATION_MIX, DESIGNATION_CASE)
    full = np.flatnonzero(rng.random(n) >= EMPTY_DESCRIPTION[drift])
    s_len = np.clip(rng.lognormal(np.log(22.0), 0.7, full.size) * (1 + drift), 3, 400).astype(np.int64)
    html = rng.random(full.size) < HTML_SHARE
    text = np.array(
        _field(rng, t, rows.take(full, html), s_len, DESCRIPTION_MIX, DESCRIPTION_CASE), dtype=object
    )
    repeat = rng.random(full.size) < REPEAT_DESIGNATION
    text[repeat] = np.array(designation, dtype=object)[full[repeat]] + " " + text[repeat]
    text[html] = "<p>" + text[html] + "</p>"
    description = np.full(n, "", dtype=object)
    description[full] = text
    for i in np.flatnonzero(rng.random(n) < WHITESPACE_NOISE).tolist():
        designation[i] = designation[i].replace(" ", "  ", 1) + " "
    return designation, description.tolist()


def generate_listings(rows: int, seed: int = 42, *, drift: bool = False) -> pd.DataFrame:
    """Generate `rows` synthetic Rakuten listings (drift=True: shifted priors, new words, longer texts)."""
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    t = _tables()
    rng = np.random.default_rng(seed)
    weights = t.weights * np.array([vocab.DRIFT_BOOST.get(int(c), 1.0) if drift else 1.0 for c in t.codes])
    cls = rng.choice(t.codes.size, size=rows, p=weights / weights.sum())
    productid = _unique_ids(rng, rows, 100_000, 4_300_000_000)
    imageid = _unique_ids(rng, rows, 1_000_000, 1_330_000_000)
    designation = [pd.Series([], dtype="str")]  # converted per chunk to keep peak memory low
    description = [pd.Series([], dtype="str")]
    for start in range(0, rows, CHUNK_ROWS):
        d, s = _chunk(rng, t, cls[start : start + CHUNK_ROWS], drift)
        designation.append(pd.Series(d, dtype="str"))
        description.append(pd.Series(s, dtype="str"))
    return pd.DataFrame(
        {
            "designation": pd.concat(designation, ignore_index=True),
            "description": pd.concat(description, ignore_index=True),
            "productid": productid,
            "imageid": imageid,
            "prdtypecode": t.codes[cls],
        },
        columns=list(COLUMNS),
    )


def write_rakuten_files(frame: pd.DataFrame, x_path: Path, y_path: Path) -> None:
    """Write X/Y csv files in the challenge format (unnamed index column, empty descriptions as NaN)."""
    x = frame[["designation", "description", "productid", "imageid"]].reset_index(drop=True)
    x["description"] = x["description"].replace("", np.nan)
    Path(x_path).parent.mkdir(parents=True, exist_ok=True)
    Path(y_path).parent.mkdir(parents=True, exist_ok=True)
    x.to_csv(x_path, index=True)
    frame[["prdtypecode"]].reset_index(drop=True).to_csv(y_path, index=True)
