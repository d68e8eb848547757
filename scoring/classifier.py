"""The one place the product gets its motive classifier from.

`default_classifier(data_dir)` builds the backend once per data directory and returns the cached
instance; today that is the lexicon backend over data/scoring/lexicon.yaml. Embedding backends
will be added behind this same function, so callers only ever depend on `MotiveClassifier`.
"""

from __future__ import annotations

import functools
import pathlib

from scoring.lexicon import LexiconClassifier
from scoring.types import MotiveClassifier

DEFAULT_DATA_DIR = pathlib.Path(__file__).resolve().parent.parent / "data"
LEXICON_FILE = pathlib.Path("scoring") / "lexicon.yaml"


def lexicon_path(data_dir: pathlib.Path | None = None) -> pathlib.Path:
    """Where the lexicon lives under `data_dir` (the repo's data/ by default)."""
    return (pathlib.Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR).resolve() / LEXICON_FILE


@functools.lru_cache(maxsize=8)
def _build(path: pathlib.Path) -> MotiveClassifier:
    return LexiconClassifier.from_file(path)


def default_classifier(data_dir: pathlib.Path | None = None) -> MotiveClassifier:
    """The motive classifier for `data_dir`, built on first use and cached per path."""
    return _build(lexicon_path(data_dir))
