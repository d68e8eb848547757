"""The learned layer of the objection-drill detector: per-behaviour classifiers over sentence embeddings.

For each drill, one binary logistic regression per behaviour (L2, Nesterov gradient descent, numpy) reads the
features scoring/embedding.py gives a reply (multilingual USE vector, max and mean over its clause vectors; the
process-wide encoder is reused, never a second one). A Naive-Bayes model on surface n-grams
(scoring/objection_nb.py) adds what the embeddings blur. Both are trained on the labelled bank
data/scoring/objections_bank/<drill>.<lang>.yaml (both languages together). A behaviour is present when

    embedding logit + cue_weight x (the cue layer shows it) + nb_weight x Naive-Bayes log-odds > threshold

and the cue layer did not see it only negated. Everything is chosen on the bank alone: per behaviour, the two
weights and the threshold by a grid search on 5-fold out-of-fold scores, maximising the mean of the zh and en F1
(the L2 strength is fixed: a grid of 1e-4..3e-3 moved cross-validated F1 by about 0.01). Folds keep a reply and
its translation together (cross-language mutual nearest neighbours in embedding space), so a reply is never
judged by a model that saw its twin. The cue layer was written on the bank, so there it looks far better than
on unseen text; the search sees it *jackknifed* (for each bank reply, the cues that fire on no other bank reply
are dropped), as weak as it is on new replies. A behaviour with fewer than MIN_POSITIVES bank replies keeps the
cue layer alone. The trained weights and out-of-fold logits are cached under var/cache/ in a file named by a
hash of the drill's bank files and VERSION (a changed bank retrains, an unchanged one loads in milliseconds);
the fusion choice is cached beside it, keyed by the cue file too. The Naive-Bayes counts are rebuilt at load.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import yaml

from scoring.embedding import embed, files_hash
from scoring.lexicon import LexiconError, normalise
from scoring.objection_nb import ngram_features

VERSION = "objections-use-m3-lr-nb-1"
L2_GRID = (3e-4,)  # a grid of 1e-4..3e-3 moved cross-validated F1 by about 0.01
ITERATIONS = 400
FOLDS = 5
MIN_POSITIVES = 10  # fewer labelled replies than this: the behaviour keeps the cue layer alone
TWIN_SIMILARITY = 0.4  # cross-language mutual nearest neighbours at least this similar share a fold
CUE_WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 100.0)
NB_WEIGHTS = (0.0, 0.1, 0.2, 0.3)
THRESHOLDS = tuple(float(t) for t in np.round(np.arange(-4.0, 4.01, 0.25), 2))


class Bank(NamedTuple):
    texts: list[str]
    labels: np.ndarray  # replies x behaviours, bool
    langs: list[str]


def bank_files(bank_dir: pathlib.Path, drill: str) -> list[pathlib.Path]:
    return sorted(pathlib.Path(bank_dir).glob(f"{drill}.*.yaml"))


def load_bank(bank_dir: pathlib.Path, drill: str, ids: tuple[str, ...]) -> Bank:
    """Every labelled reply of `drill` in the bank folder ({text, behaviours} lists, one file per language)."""
    texts, labels, langs = [], [], []
    for path in bank_files(bank_dir, drill):
        try:
            for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
                found = set(entry.get("behaviours") or ())
                if not found <= set(ids):
                    raise KeyError(f"unknown behaviours {sorted(found - set(ids))}")
                texts.append(str(entry["text"]))
                labels.append([name in found for name in ids])
                langs.append(path.stem.split(".")[-1])
        except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
            raise LexiconError(f"{path}: expected a list of {{text, behaviours}} entries ({exc})") from exc
    return Bank(texts, np.asarray(labels, dtype=bool).reshape(len(texts), len(ids)), langs)


# --- logistic regression on embeddings ----------------------------------------------------------------------


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, iterations: int = ITERATIONS):
    """Independent binary logistic regressions (one per column of y) by Nesterov descent; returns (W, b)."""
    n = max(len(x), 1)
    step = 1.0 / (0.25 * (np.linalg.norm(x, 2) ** 2 / n + 1.0) + l2)
    w, b = np.zeros((x.shape[1], y.shape[1])), np.zeros(y.shape[1])
    w_prev, b_prev = w, b
    for t in range(1, iterations + 1):
        mom = (t - 1) / (t + 2)
        wl, bl = w + mom * (w - w_prev), b + mom * (b - b_prev)
        grad = sigmoid(x @ wl + bl) - y
        w_prev, b_prev = w, b
        w = wl - step * (x.T @ grad / n + l2 * wl)
        b = bl - step * grad.mean(axis=0)
    return w, b


def twin_groups(x: np.ndarray, langs: list[str]) -> np.ndarray:
    """Group ids joining each reply to its translation (cross-language mutual nearest neighbours)."""
    parent = list(range(len(x)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    v = x[:, :512] / np.maximum(np.linalg.norm(x[:, :512], axis=1, keepdims=True), 1e-9)
    lang = np.asarray(langs)
    names = sorted(set(langs))
    for a_i, a in enumerate(names):
        for b in names[a_i + 1 :]:
            ia, ib = np.flatnonzero(lang == a), np.flatnonzero(lang == b)
            sim = v[ia] @ v[ib].T
            best_b, best_a = sim.argmax(axis=1), sim.argmax(axis=0)
            for i, j in enumerate(best_b):
                if best_a[j] == i and sim[i, j] >= TWIN_SIMILARITY:
                    parent[root(int(ia[i]))] = root(int(ib[j]))
    return np.array([root(i) for i in range(len(x))])


def fold_ids(groups: np.ndarray, folds: int = FOLDS) -> np.ndarray:
    unique = np.unique(groups)
    order = np.random.default_rng(0).permutation(len(unique)) % folds
    return order[np.searchsorted(unique, groups)]


def lang_f1(gold: np.ndarray, pred: np.ndarray, langs: np.ndarray) -> np.ndarray:
    """Mean over languages of F1, for each column of `pred` (replies x candidates) against `gold` (replies)."""
    scores = []
    for lang in np.unique(langs):
        m = langs == lang
        g, p = gold[m, None], pred[m]
        tp = (g & p).sum(axis=0)
        denom = g.sum() + p.sum(axis=0)
        scores.append(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0))
    return np.mean(scores, axis=0)


@dataclass
class LearnedModel:
    """One drill's embedding classifiers, with the out-of-fold logits and folds the fusion search needs."""

    w: np.ndarray
    b: np.ndarray
    oof: np.ndarray
    folds: np.ndarray
    meta: dict

    def save(self, path: pathlib.Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, w=self.w, b=self.b, oof=self.oof, folds=self.folds, meta=json.dumps(self.meta))
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the whole new one

    @classmethod
    def load(cls, path: pathlib.Path) -> LearnedModel:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["w"], z["b"], z["oof"], z["folds"], json.loads(str(z["meta"])))


def train(bank: Bank) -> LearnedModel:
    """Embed the bank, choose L2 by cross-validated F1, keep its out-of-fold logits, fit on the whole bank."""
    x, _, _ = embed(bank.texts)
    y, langs = bank.labels.astype(float), np.asarray(bank.langs)
    folds = fold_ids(twin_groups(x, bank.langs))
    best = None
    for l2 in L2_GRID:
        oof = np.zeros_like(y)
        for f in range(FOLDS):
            w, b = fit_logistic(x[folds != f], y[folds != f], l2)
            oof[folds == f] = x[folds == f] @ w + b
        f1 = [float(lang_f1(bank.labels[:, j], oof[:, j, None] > np.array(THRESHOLDS), langs).max())
              for j in range(y.shape[1])]
        if best is None or np.mean(f1) > np.mean(best[2]) + 1e-4:
            best = (l2, oof, f1)
    l2, oof, f1 = best
    w, b = fit_logistic(x, y, l2)
    meta = {"version": VERSION, "n": len(y), "l2": l2, "folds": FOLDS, "cv_f1_embedding": [round(v, 4) for v in f1]}
    return LearnedModel(w, b, oof, folds, meta)


def cached_model(bank: Bank, files: list[pathlib.Path], cache_dir: pathlib.Path, drill: str) -> LearnedModel:
    """The trained model for this bank: loaded from the cache, or trained and cached (best effort)."""
    path = pathlib.Path(cache_dir) / f"objections-{drill}-{files_hash(files, VERSION, drill)}.npz"
    if path.is_file():
        try:
            model = LearnedModel.load(path)
            if model.oof.shape == bank.labels.shape:
                return model
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is simply retrained
    model = train(bank)
    try:
        model.save(path)
    except OSError:
        pass  # a read-only checkout still works, it just trains at every start
    return model


# --- fusion with the cue layer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fusion:
    """Per behaviour: the cue and Naive-Bayes weights, the threshold, whether the learned part is used at all."""

    cue_weight: tuple[float, ...]
    nb_weight: tuple[float, ...]
    threshold: tuple[float, ...]
    learned: tuple[bool, ...]
    cv_f1: tuple[float, ...]  # out-of-fold F1 on the bank (jackknifed cues), mean of the languages

    def decide(self, logits: np.ndarray, nb: np.ndarray, states: np.ndarray) -> np.ndarray:
        """Present or not, per behaviour, from embedding logits, NB log-odds and cue states (1, 0, -1)."""
        score = logits + np.asarray(self.cue_weight) * (states > 0) + np.asarray(self.nb_weight) * nb
        fused = (score > np.asarray(self.threshold)) & (states >= 0)
        return np.where(self.learned, fused, states > 0)


def choose_fusion(oof: np.ndarray, nb: np.ndarray, states: np.ndarray, labels: np.ndarray,
                  langs: list[str]) -> Fusion:
    """Grid-search each behaviour's weights and threshold on out-of-fold scores (ties: less weight, t near 0)."""
    lang, thresholds = np.asarray(langs), np.array(THRESHOLDS)
    cue_w, nb_w, th, learned, cv = [], [], [], [], []
    for j in range(labels.shape[1]):
        gold, cued, live = labels[:, j], states[:, j] > 0, states[:, j] >= 0
        best = (-1.0,)
        for v in NB_WEIGHTS:
            for w in CUE_WEIGHTS:
                score = oof[:, j] + w * cued + v * nb[:, j]
                f1 = lang_f1(gold, (score[:, None] > thresholds) & live[:, None], lang)
                for t, value in zip(THRESHOLDS, f1, strict=True):
                    key = (round(float(value), 4), -v, -w, -abs(t))
                    if key > best[:4]:
                        best = (*key, w, v, t)
        use = int(gold.sum()) >= MIN_POSITIVES
        cue_w.append(float(best[4]) if use else 0.0)
        nb_w.append(float(best[5]) if use else 0.0)
        th.append(float(best[6]) if use else 0.0)
        learned.append(use)
        cv.append(best[0] if use else round(float(lang_f1(gold, cued[:, None], lang)[0]), 4))
    return Fusion(tuple(cue_w), tuple(nb_w), tuple(th), tuple(learned), tuple(cv))


def cached_fusion(path: pathlib.Path, compute) -> Fusion:
    """The fusion choice stored at `path` (JSON), or `compute()` stored there (best effort)."""
    try:
        return Fusion(**{k: tuple(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()})
    except (OSError, ValueError, TypeError):
        pass
    fusion = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(fusion.__dict__, handle)
        os.replace(tmp, path)
    except OSError:
        pass
    return fusion


def bank_features(bank: Bank) -> list[set[str]]:
    return [ngram_features(normalise(text)) for text in bank.texts]
