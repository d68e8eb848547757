"""The Naive-Bayes part of the objection detector's learned layer: surface n-grams the embeddings may blur.

Features are character 1-3-grams of Chinese runs and English words and word pairs (a word after a negation is
marked "!", so "not knock" differs from "knock"); both languages share one feature space, so a mixed reply just
works. `NaiveBayes.score` gives each behaviour's log-odds (smoothed log-count ratios summed over the reply's
features, plus the prior); `nb_out_of_fold` gives every bank reply's log-odds from a model that did not see its
fold, for the fusion search in scoring/objection_model.py.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

NB_ALPHA = 1.0
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_CLAUSE = re.compile(r"[,.;:!?\n—–。，！？；：、()（）]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SYMBOL = re.compile(r"[\u2600-\u27bf\U0001f300-\U0001faff]")
_NEG_WORDS = {"not", "no", "never", "nothing", "nobody", "without", "cannot", "hardly"}


def ngram_features(norm: str) -> set[str]:
    """Character 1-3-grams of Chinese runs, English words and word pairs (marked "!" after a negation)."""
    feats = set(_SYMBOL.findall(norm))
    for run in _CJK_RUN.findall(norm):
        for n in (1, 2, 3):
            feats.update(run[i : i + n] for i in range(len(run) - n + 1))
    for clause in _CLAUSE.split(norm):
        words, negated = [], False
        for word in _LATIN_WORD.findall(clause):
            words.append("!" + word if negated else word)
            negated = negated or word in _NEG_WORDS or word.endswith("n't")
        feats.update(words)
        feats.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return feats


class NaiveBayes(NamedTuple):
    """Log-count ratios (features x behaviours) and prior log-odds; `score` is a reply's log-odds per behaviour."""

    index: dict[str, int]
    ratios: np.ndarray
    prior: np.ndarray

    def score(self, feats: set[str]) -> np.ndarray:
        rows = [self.index[f] for f in feats if f in self.index]
        return self.prior + (self.ratios[rows].sum(axis=0) if rows else 0.0)


def _nb_counts(feats: list[set[str]], labels: np.ndarray):
    index = {f: i for i, f in enumerate(sorted(set().union(*feats)))} if feats else {}
    rows = [np.fromiter((index[f] for f in fs), int, len(fs)) for fs in feats]
    pos, total = np.zeros((len(index), labels.shape[1])), np.zeros(len(index))
    for r, y in zip(rows, labels.astype(float), strict=True):
        pos[r] += y
        total[r] += 1
    return index, rows, pos, total


def _ratios(pos: np.ndarray, total: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    neg = total[:, None] - pos
    ratios = (np.log((pos + NB_ALPHA) / (pos.sum(0) + NB_ALPHA * len(total)))
              - np.log((neg + NB_ALPHA) / (neg.sum(0) + NB_ALPHA * len(total))))
    ratios[total == 0] = 0.0  # a feature no training reply has is unknown
    y = labels.sum(0)
    return ratios, np.log((y + 1) / (len(labels) - y + 1))


def fit_nb(feats: list[set[str]], labels: np.ndarray) -> NaiveBayes:
    index, _, pos, total = _nb_counts(feats, labels)
    ratios, prior = _ratios(pos, total, labels)
    return NaiveBayes(index, ratios, prior)


def nb_out_of_fold(feats: list[set[str]], labels: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each reply's Naive-Bayes log-odds from a model that did not see its fold."""
    _, rows, pos, total = _nb_counts(feats, labels)
    out = np.zeros(labels.shape)
    for f in np.unique(folds):
        held = np.flatnonzero(folds == f)
        p, t = pos.copy(), total.copy()
        for i in held:
            p[rows[i]] -= labels[i]
            t[rows[i]] -= 1
        ratios, prior = _ratios(p, t, labels[folds != f])
        for i in held:
            out[i] = prior + ratios[rows[i]].sum(axis=0)
    return out
