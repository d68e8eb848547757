"""The one place the product gets its motive classifier from.

`classifier_by_name(name, data_dir, cache_dir)` builds one of the backends — "lexicon" (cue phrases in
data/scoring/lexicon.yaml), "embedding" (multilingual sentence embeddings and a logistic regression
trained on data/scoring/bank/), "fusion" (the two combined) — once per name and path, and returns the
cached instance. `default_classifier(data_dir)` is the measured best, DEFAULT_BACKEND = fusion: on the
held-out set it has the best macro-F1 in English, ties the embedding backend in Chinese, and is the only
backend with no class below 0.75 in either language (`python bot.py evaluate` prints the figures). The
learned backends train at first use and keep their weights under var/cache/ (keyed by a hash of the bank),
so later starts load in about a second. Heavy imports (numpy, the encoder) happen only when a learned
backend is built, so importing this module stays cheap. Callers only ever depend on `MotiveClassifier`.
"""

from __future__ import annotations

import functools
import pathlib

from scoring.lexicon import LexiconClassifier
from scoring.types import MotiveClassifier

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / "data"
DEFAULT_CACHE_DIR = ROOT / "var" / "cache"
LEXICON_FILE = pathlib.Path("scoring") / "lexicon.yaml"
BANK_DIR = pathlib.Path("scoring") / "bank"
BACKENDS: tuple[str, ...] = ("lexicon", "embedding", "fusion")
DEFAULT_BACKEND = "fusion"


def data_path(data_dir: pathlib.Path | str | None = None) -> pathlib.Path:
    """The data directory: `data_dir` resolved, or the repo's data/."""
    return (pathlib.Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR).resolve()


def lexicon_path(data_dir: pathlib.Path | None = None) -> pathlib.Path:
    """Where the lexicon lives under `data_dir` (the repo's data/ by default)."""
    return data_path(data_dir) / LEXICON_FILE


def bank_path(data_dir: pathlib.Path | None = None) -> pathlib.Path:
    """Where the labelled training bank lives under `data_dir`."""
    return data_path(data_dir) / BANK_DIR


def build(name: str, data_dir: pathlib.Path | None = None, cache_dir: pathlib.Path | None = None) -> MotiveClassifier:
    """Build backend `name` afresh (no memoisation); learned backends train or load their cached weights."""
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")
    lexicon = LexiconClassifier.from_file(lexicon_path(data_dir))
    if name == "lexicon":
        return lexicon
    from scoring.embedding import EmbeddingClassifier, cached_model

    model = cached_model(bank_path(data_dir), pathlib.Path(cache_dir or DEFAULT_CACHE_DIR))
    embedding = EmbeddingClassifier(model, lexicon)
    if name == "embedding":
        return embedding
    from scoring.fusion import FusionClassifier, fit_fusion

    return FusionClassifier(embedding, lexicon, fit_fusion(model, lexicon, bank_path(data_dir)))


@functools.lru_cache(maxsize=16)
def _cached(name: str, data_dir: pathlib.Path, cache_dir: pathlib.Path) -> MotiveClassifier:
    return build(name, data_dir, cache_dir)


def classifier_by_name(
    name: str, data_dir: pathlib.Path | None = None, cache_dir: pathlib.Path | None = None
) -> MotiveClassifier:
    """Backend `name` for `data_dir`, built on first use and cached per name and paths."""
    return _cached(name, data_path(data_dir), pathlib.Path(cache_dir or DEFAULT_CACHE_DIR).resolve())


def default_classifier(data_dir: pathlib.Path | None = None, cache_dir: pathlib.Path | None = None) -> MotiveClassifier:
    """The measured-best motive classifier for `data_dir`, built on first use and cached per path."""
    return classifier_by_name(DEFAULT_BACKEND, data_dir, cache_dir)
