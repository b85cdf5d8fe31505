"""The search space: featurizer settings and classifier families, as flat parameter dictionaries.

A candidate is a flat dict such as ``{"layout": "listing", "word_ngrams": "1-2", "chars": "listing",
"char_ngrams": "2-5", "min_df": 2, ..., "family": "linear_svc", "linear_svc.C": 0.5}``; `decode` turns it
into a FeatureConfig and a ClassifierSpec. The space is declared once and walked by Optuna's
define-by-run trials (`suggest`); the library comparison (scripts/bench_search_libraries.py) reads
the same declaration for FLAML and scikit-learn's successive halving.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rakuten_mlops.errors import ModelError
from rakuten_mlops.features.vectorizers import FeatureConfig
from rakuten_mlops.training.base import ClassifierSpec, Family, ParamValue
from rakuten_mlops.training.choices import SearchMode

Params = dict[str, ParamValue]


@dataclass(frozen=True)
class Choice:
    """One of a few values."""

    values: tuple[ParamValue, ...]


@dataclass(frozen=True)
class LogUniform:
    """A positive number drawn on a log scale."""

    low: float
    high: float


Distribution = Choice | LogUniform


class Suggester(Protocol):
    """The part of an Optuna trial the space uses."""

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """One of `choices`."""
        ...

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        """A number in [low, high]."""
        ...


@dataclass(frozen=True)
class Space:
    """Featurizer dimensions (shared by every family) and each family's own dimensions."""

    features: Mapping[str, Distribution]
    families: Mapping[Family, Mapping[str, Distribution]]
    # Tried first, in order: strong settings known from the benchmarks, so that a short budget
    # still compares the usual winners before the sampler explores.
    starts: tuple[Params, ...] = ()

    def restricted_to(self, families: Sequence[Family]) -> Space:
        """The same space over some families only (starts of other families dropped)."""
        kept = {f: d for f, d in self.families.items() if f in families}
        if not kept:
            raise ModelError(f"no family of {[f.value for f in families]} is in this search space")
        starts = tuple(s for s in self.starts if Family(str(s["family"])) in kept)
        return Space(self.features, kept, starts)


def _features(wide: bool) -> dict[str, Distribution]:
    if not wide:
        return {
            "layout": Choice(("listing", "fields")),
            "word_ngrams": Choice(("1-1", "1-2")),
            "chars": Choice(("none", "designation", "listing")),
            "char_ngrams": Choice(("2-4", "2-5")),
            "min_df": Choice((1, 2)),
            "sublinear_tf": Choice((1,)),
            "fold_accents": Choice((1,)),
            "max_features": Choice((0,)),
        }
    return {
        "layout": Choice(("listing", "fields")),
        "word_ngrams": Choice(("1-1", "1-2", "1-3")),
        "chars": Choice(("none", "designation", "listing")),
        "char_ngrams": Choice(("1-4", "2-4", "2-5", "3-5", "2-6")),
        "min_df": Choice((1, 2, 3, 5)),
        "sublinear_tf": Choice((0, 1)),
        "fold_accents": Choice((0, 1)),
        "max_features": Choice((0, 100_000, 300_000)),
    }


def _families(wide: bool) -> dict[Family, dict[str, Distribution]]:
    families: dict[Family, dict[str, Distribution]] = {
        Family.LINEAR_SVC: {"C": LogUniform(0.05, 2.0)},
        Family.SGD_LOG: {"alpha": LogUniform(1e-6, 1e-4), "epochs": Choice((5, 10))},
        Family.SGD_HUBER: {"alpha": LogUniform(1e-6, 1e-4), "epochs": Choice((5, 10))},
        Family.COMPLEMENT_NB: {"alpha": LogUniform(0.01, 1.0)},
        Family.LOGISTIC: {"C": LogUniform(3.0, 100.0), "max_iter": Choice((10, 20))},
        # AdamW updates every weight at every step, so on a CPU large batches and a small hidden layer
        # keep an epoch over 68k listings within seconds; `full` (and a GPU) can afford more.
        Family.TORCH_MLP: {
            "hidden": Choice((0, 128)),
            "epochs": Choice((3, 5)),
            "batch_size": Choice((2048,)),
            "lr": LogUniform(5e-3, 5e-2),
            "weight_decay": Choice((1e-6,)),
        },
    }
    if wide:
        families[Family.LINEAR_SVC] = {"C": LogUniform(0.02, 5.0)}
        families[Family.LOGISTIC] = {"C": LogUniform(1.0, 300.0), "max_iter": Choice((10, 20, 50))}
        families[Family.TORCH_MLP] = {
            "hidden": Choice((0, 128, 256, 512)),
            "epochs": Choice((3, 5, 8)),
            "batch_size": Choice((512, 2048)),
            "lr": LogUniform(1e-3, 5e-2),
            "weight_decay": Choice((0.0, 1e-6, 1e-5)),
        }
    return families


_WORD = {"layout": "listing", "word_ngrams": "1-2", "chars": "none", "char_ngrams": "2-4"}
_BASE = {"sublinear_tf": 1, "fold_accents": 1, "max_features": 0}
STARTS: tuple[Params, ...] = (
    # TF-IDF 1-2 grams + LinearSVC(C=0.5): the plain baseline real catalogues are compared with.
    {**_WORD, **_BASE, "min_df": 2, "family": "linear_svc", "linear_svc.C": 0.5},
    # Word and character n-grams over the listing: the best on short real texts (WordNet glosses:
    # 0.803 against 0.756 on validation; 2-4 grams as good as 2-5 at a third of the featurizing time).
    {**_WORD, **_BASE, "chars": "listing", "min_df": 2, "family": "linear_svc", "linear_svc.C": 0.5},
    # The fixed sklearn trainer's settings (the generator's measured best before any search).
    {**_WORD, **_BASE, "min_df": 1, "family": "sgd_log", "sgd_log.alpha": 5e-6, "sgd_log.epochs": 5},
    {**_WORD, **_BASE, "min_df": 1, "family": "complement_nb", "complement_nb.alpha": 0.3},
)


def space_for(mode: SearchMode, families: Sequence[Family]) -> Space:
    """The quick or full space over the given families."""
    if mode is SearchMode.OFF:
        raise ModelError("search mode 'off' has no search space")
    wide = mode is SearchMode.FULL
    return Space(_features(wide), _families(wide), STARTS).restricted_to(families)


def _suggest(trial: Suggester, name: str, distribution: Distribution) -> ParamValue:
    if isinstance(distribution, LogUniform):
        return float(trial.suggest_float(name, distribution.low, distribution.high, log=True))
    value: ParamValue = trial.suggest_categorical(name, list(distribution.values))
    return value


def suggest(trial: Suggester, space: Space) -> Params:
    """Draw one candidate through an Optuna trial: the featurizer, then a family and its settings."""
    params: Params = {name: _suggest(trial, name, d) for name, d in space.features.items()}
    family = Family(trial.suggest_categorical("family", [f.value for f in space.families]))
    params["family"] = family.value
    for name, distribution in space.families[family].items():
        params[f"{family.value}.{name}"] = _suggest(trial, f"{family.value}.{name}", distribution)
    return params


def _ngrams(text: ParamValue) -> tuple[int, int]:
    low, high = str(text).split("-")
    return int(low), int(high)


# Character n-grams read the start of a text only: a long description's first 300 characters hold
# the product, and reading all of it made char features cost minutes on long-description catalogues.
CHAR_MAX_CHARS = 300


def feature_config(params: Mapping[str, ParamValue]) -> FeatureConfig:
    """The FeatureConfig of a candidate's featurizer settings."""
    listing = params["layout"] == "listing"
    chars = str(params["chars"])
    max_features = int(params["max_features"]) or None
    return FeatureConfig(
        listing_weight=1.0 if listing else 0.0,
        designation_weight=0.0 if listing else 1.0,
        description_weight=0.0 if listing else 1.0,
        word_ngrams=_ngrams(params["word_ngrams"]),
        # Without character blocks the n-gram range changes nothing: one config, one cached matrix.
        char_ngrams=_ngrams(params["char_ngrams"]) if chars != "none" else FeatureConfig.char_ngrams,
        listing_chars=listing and chars == "listing",
        designation_chars=chars == "designation" or (not listing and chars == "listing"),
        description_chars=not listing and chars == "listing",
        char_max_chars=CHAR_MAX_CHARS if chars != "none" else None,
        min_df=int(params["min_df"]),
        max_word_features=max_features,
        max_char_features=max_features or 300_000,
        sublinear_tf=bool(params["sublinear_tf"]),
        fold_accents=bool(params["fold_accents"]),
    )


def decode(params: Mapping[str, ParamValue]) -> tuple[FeatureConfig, ClassifierSpec]:
    """The featurizer and classifier of a flat candidate dict."""
    try:
        family = Family(str(params["family"]))
        prefix = f"{family.value}."
        settings = {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
        return feature_config(params), ClassifierSpec(family, settings)
    except (KeyError, ValueError) as exc:
        raise ModelError(f"not a search candidate: {dict(params)} ({exc})") from None
