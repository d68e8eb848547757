"""Per-reply behaviour detection for the two objection drills, each behaviour with the words that show it.

Rumour drill: calm, defensive, bashes_competitor, redirects, acknowledges, humour, confident; price drill:
immediate_discount, probes_reason, leaves_room, trades_concession, value_framing, self_focused (deck slides
24-28, 39-40; data/drills/README.md). Cues in data/scoring/objections.yaml use the hot-button lexicon's
syntax and normalisation: one cue, or one cue from every list of a `together` group in one sentence ("如果"
+ "签三年" + "再让"), shows a behaviour, unless a negation frames it away in its clause ("我不是说他们不好",
"I'm not going to knock them") or a `veto` phrase shares its sentence ("您看行吗？" closes, it does not
probe). A drill's patterns run once per reply through one anchor index, overlaps resolved longest first
per behaviour and channel. Cues miss paraphrase, so a Naive-Bayes model per language (Chinese character
1-3-grams; English words and pairs, marked after a negation), trained at load time on the labelled bank
with thresholds set by out-of-fold F1, adds what the cues missed - never a behaviour the cues saw negated,
nor one the bank never pairs with a cued one - quoting its most typical sentence. `implied_by` (calm follows
from the good moves) and `blocked_by` (no calm when defensive; a traded concession is not immediate) come
last. Quotes are exact substrings of the reply; all is built once and cached; no input makes it raise.
"""

from __future__ import annotations

import bisect
import functools
import pathlib
import re
from collections import defaultdict
from typing import NamedTuple

import numpy as np
import yaml

from scoring.lexicon import Cue, CueSet, Hit, LexiconError, as_text, compile_cue, is_negated, normalise
from scoring.types import Behaviour

OBJECTION_BEHAVIOURS: dict[str, tuple[str, ...]] = {
    "rumour": ("calm", "defensive", "bashes_competitor", "redirects", "acknowledges", "humour", "confident"),
    "price": ("immediate_discount", "probes_reason", "leaves_room", "trades_concession", "value_framing",
              "self_focused"),
}
OBJECTIONS_FILE = pathlib.Path(__file__).resolve().parent.parent / "data" / "scoring" / "objections.yaml"
MAX_EVIDENCE = 6  # quotes kept per behaviour
MODEL_DEFAULTS = {"bank": "objections_bank", "alpha": 1.0, "folds": 5, "min_f1": 0.6, "min_weight": 1.0,
                  "max_chars": 2000}
_NEGATORS = ("neg_before", "neg_after")
_SHARED = "*"  # the owner of the shared negation phrases
_KEYS = {"zh", "en", "negation", "negation_after", "veto", "together", "implied_by", "blocked_by"}
_SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?:\s|$)")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_CLAUSE = re.compile(r"[,.;:!?\n—–。，！？；：、()（）]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SYMBOL = re.compile(r"[\u2600-\u27bf\U0001f300-\U0001faff]")
_NEG_WORDS = {"not", "no", "never", "nothing", "nobody", "without", "cannot", "hardly"}


class _Relations(NamedTuple):
    groups: tuple[int, ...]  # the number of lists in each together group
    implied_by: tuple[str, ...]
    blocked_by: tuple[str, ...]


class _Model(NamedTuple):
    """Naive-Bayes log-count ratios (features x behaviours) for one language of one drill."""

    lang: str  # "zh" or "en": the model reads a reply only when enough of it is in its language
    index: dict[str, int]
    weights: np.ndarray
    bias: np.ndarray  # prior log-odds minus the out-of-fold threshold; -inf where the model is not trusted
    min_weight: float  # a reply needs one feature at least this telling, so bland text never qualifies
    apart: np.ndarray  # apart[i, j]: behaviours i and j never share a reply in the bank
    cv_f1: dict[str, float]

    def reads(self, norm: str) -> bool:
        return sum(map(len, _CJK_RUN.findall(norm))) >= 8 if self.lang == "zh" else len(_LATIN_WORD.findall(norm)) >= 4

    def scores(self, feats: set[str]) -> np.ndarray:
        rows = [self.index[f] for f in feats if f in self.index]
        w = self.weights[rows] if rows else np.full((1, len(self.bias)), -np.inf)
        return np.where(w.max(axis=0) >= self.min_weight, self.bias + w.sum(axis=0), -np.inf)


class _Drill(NamedTuple):
    cues: _DrillCues
    relations: dict[str, _Relations]
    models: list[_Model]
    max_chars: int


class _DrillCues(CueSet):
    """Every cue of one drill, labelled "behaviour|channel"; `channels` finds them all in one pass."""

    def channels(self, norm: str) -> dict[str, list[Hit]]:
        raw: dict[str, list[Hit]] = defaultdict(list)
        for index in self._candidates(norm):
            cue = self.cues[index]
            if not cue.anchor or cue.anchor in norm:
                raw[cue.label] += [Hit(m.start(), m.end(), cue.label, 1.0, index)
                                   for m in cue.pattern.finditer(norm) if m.end() > m.start()]
        return {label: _longest(hits) for label, hits in raw.items()}


def _longest(hits: list[Hit]) -> list[Hit]:
    """The longest non-overlapping hits, in text order."""
    taken: set[int] = set()
    kept = []
    for hit in sorted(hits, key=lambda h: (h.start - h.end, h.start)):
        if not taken.intersection(range(hit.start, hit.end)):
            taken.update(range(hit.start, hit.end))
            kept.append(hit)
    return sorted(kept)


def _compile(raw, where: str, label: str) -> list[Cue]:
    if not isinstance(raw, list):
        raise LexiconError(f"{where}: expected a list of cue phrases, got {type(raw).__name__}")
    cues = []
    for i, text in enumerate(raw):
        if not isinstance(text, str) or not text.strip():
            raise LexiconError(f"{where}[{i}]: expected a non-empty string, got {text!r}")
        try:
            pattern, anchor = compile_cue(text.strip())
        except (re.error, ValueError) as exc:
            raise LexiconError(f"{where}[{i}] {text!r}: {exc}") from exc
        cues.append(Cue(label, 1.0, text.strip(), pattern, anchor))
    return cues


def _names(raw, where: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(n, str) and n in allowed for n in raw):
        raise LexiconError(f"{where}: expected a list of behaviour ids among {', '.join(allowed)}")
    return tuple(raw)


def _behaviour(raw, where: str, name: str, ids: tuple[str, ...]) -> tuple[list[Cue], _Relations]:
    if not isinstance(raw, dict) or not set(raw) <= _KEYS:
        raise LexiconError(f"{where}: expected a mapping with keys among {', '.join(sorted(_KEYS))}")
    cues = [c for lang in ("zh", "en") for c in _compile(raw.get(lang, []), f"{where}.{lang}", f"{name}|cue")]
    for key, channel in (("negation", "neg_before"), ("negation_after", "neg_after"), ("veto", "veto")):
        cues += _compile(raw.get(key, []), f"{where}.{key}", f"{name}|{channel}")
    groups = raw.get("together", [])
    if not isinstance(groups, list) or not all(isinstance(g, list) and len(g) >= 2 for g in groups):
        raise LexiconError(f"{where}.together: expected a list of groups, each of at least two cue lists")
    for g, group in enumerate(groups):
        for p, part in enumerate(group):
            cues += _compile(part, f"{where}.together[{g}][{p}]", f"{name}|t{g}.{p}")
    return cues, _Relations(tuple(len(g) for g in groups), _names(raw.get("implied_by", []),
                            f"{where}.implied_by", ids), _names(raw.get("blocked_by", []), f"{where}.blocked_by", ids))


def _features(norm: str) -> set[str]:
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


def _ratios(pos: np.ndarray, total: np.ndarray, alpha: float) -> np.ndarray:
    neg = total[:, None] - pos
    return (np.log((pos + alpha) / (pos.sum(0) + alpha * len(total)))
            - np.log((neg + alpha) / (neg.sum(0) + alpha * len(total))))


def train_model(items: list[tuple[str, set[str]]], names: tuple[str, ...], settings: dict, lang: str) -> _Model:
    """Fit the Naive-Bayes model on (reply, behaviours) pairs; each threshold maximises out-of-fold F1."""
    alpha, folds, min_weight = float(settings["alpha"]), int(settings["folds"]), float(settings["min_weight"])
    feats = [_features(normalise(text)) for text, _ in items]
    index = {f: i for i, f in enumerate(sorted(set().union(*feats)))}
    rows = [np.fromiter((index[f] for f in fs), int, len(fs)) for fs in feats]
    labels = np.array([[name in found for name in names] for _, found in items], dtype=float)
    pos, total = np.zeros((len(index), len(names))), np.zeros(len(index))
    for r, y in zip(rows, labels, strict=True):
        pos[r] += y
        total[r] += 1
    oof, strong = np.zeros_like(labels), np.zeros(labels.shape, dtype=bool)
    for k in range(folds):
        held = range(k, len(items), folds)
        p, t = pos.copy(), total.copy()
        for i in held:
            p[rows[i]] -= labels[i]
            t[rows[i]] -= 1
        y = np.delete(labels, list(held), axis=0).sum(0)
        w = _ratios(p, t, alpha)
        w[t == 0] = 0.0  # a feature only the held-out fold has is unknown, as at run time
        for i in held:
            oof[i] = np.log((y + 1) / (len(items) - len(held) - y + 1)) + w[rows[i]].sum(0)
            strong[i] = w[rows[i]].max(0, initial=0.0) >= min_weight
    bias, cv_f1 = np.log((labels.sum(0) + 1) / (len(items) - labels.sum(0) + 1)), {}
    for j, name in enumerate(names):
        gold = labels[:, j] > 0
        best = max(((2 * tp / (2 * tp + fp + fn), th) for th in np.unique(oof[:, j])
                    for hit in [(oof[:, j] > th) & strong[:, j]]
                    for tp, fp, fn in [((hit & gold).sum(), (hit & ~gold).sum(), (~hit & gold).sum())] if tp),
                   default=(0.0, 0.0))
        cv_f1[name] = round(float(best[0]), 3)
        bias[j] = bias[j] - best[1] if best[0] >= float(settings["min_f1"]) else -np.inf
    return _Model(lang, index, _ratios(pos, total, alpha), bias, min_weight, (labels.T @ labels) == 0, cv_f1)


def _bank(path: pathlib.Path) -> list[tuple[str, set[str]]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        return [(str(e["text"]), set(e.get("behaviours") or ())) for e in data]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise LexiconError(f"{path}: expected a list of {{text, behaviours}} entries ({exc})") from exc


def load_objections(path: str | pathlib.Path | None = None) -> dict[str, _Drill]:
    """Read and compile the cue file and train one model per bank file of each drill (cached per path)."""
    return _load(str(pathlib.Path(path or OBJECTIONS_FILE).resolve()))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> dict[str, _Drill]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise LexiconError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("negation") or {}, dict):
        raise LexiconError(f"{path}: expected a mapping at the top level, with negation a mapping")
    negation = data.get("negation") or {}
    shared = _compile(negation.get("before", []), f"{path}: negation.before", f"{_SHARED}|neg_before")
    shared += _compile(negation.get("after", []), f"{path}: negation.after", f"{_SHARED}|neg_after")
    settings = {**MODEL_DEFAULTS, **(data.get("model") or {})}
    if set(settings) != set(MODEL_DEFAULTS) or not all(
            isinstance(v, str) if k == "bank" else isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
            for k, v in settings.items()):
        raise LexiconError(f"{path}: model: expected {', '.join(MODEL_DEFAULTS)} (bank a folder, the rest numbers)")
    drills = {}
    for drill, ids in OBJECTION_BEHAVIOURS.items():
        raw = data.get(drill)
        if not isinstance(raw, dict) or set(raw) != set(ids):
            raise LexiconError(f"{path}: {drill}: expected exactly the behaviours {', '.join(ids)}")
        cues, relations = list(shared), {}
        for name in ids:
            own, relations[name] = _behaviour(raw[name], f"{path}: {drill}.{name}", name, ids)
            cues += own
        banks = sorted((pathlib.Path(path).parent / settings["bank"]).glob(f"{drill}.*.yaml"))
        models = [train_model(items, ids, settings, bank.stem.split(".")[-1])
                  for bank in banks if settings["min_f1"] <= 1 and (items := _bank(bank))]
        drills[drill] = _Drill(_DrillCues(cues), relations, models, int(settings["max_chars"]))
    return drills


def _shown(name: str, rel: _Relations, found: dict[str, list[Hit]], norm: str, ends: list[int]) -> list[Hit] | None:
    """The live hits that show behaviour `name` alone or as a complete together-group; None when the reply
    has only negated cues of it (it frames the behaviour away, so the model must not add it back)."""
    main = _longest(found.get(f"{name}|cue", []) + [h for kind in _NEGATORS for owner in (name, _SHARED)
                                                    for h in found.get(f"{owner}|{kind}", [])])
    negators = [h._replace(label=h.label.split("|")[1]) for h in main if not h.label.endswith("|cue")]
    starts = [h.start for h in negators]
    vetoed = {bisect.bisect_left(ends, h.start) for h in found.get(f"{name}|veto", [])}

    def negated(hit: Hit) -> bool:  # only the negators within reach of the hit are worth asking
        close = negators[bisect.bisect(starts, hit.start - 40) : bisect.bisect(starts, hit.end + 40)]
        return bool(close) and is_negated(norm, hit, close)

    def live(hits: list[Hit]) -> list[Hit]:
        return [h for h in hits if not negated(h) and bisect.bisect_left(ends, h.start) not in vetoed]

    cued = [h for h in main if h.label.endswith("|cue")]
    shown = live(cued)
    for g, size in enumerate(rel.groups):
        parts = [live(found.get(f"{name}|t{g}.{p}", [])) for p in range(size)]
        if all(parts):
            common = set.intersection(*({bisect.bisect_left(ends, h.start) for h in part} for part in parts))
            shown += [h for part in parts for h in part if bisect.bisect_left(ends, h.start) in common]
    return sorted(set(shown)) if shown or not any(negated(h) for h in cued) else None


def _typical(text: str, norm: str, model: _Model, j: int) -> tuple[str, ...]:
    """The sentence whose features weigh most for behaviour j, quoted exactly."""
    ends = [m.end() for m in _SENTENCE_END.finditer(norm)]
    spans = [(a, b) for a, b in zip([0, *ends], [*ends, len(norm)], strict=True) if text[a:b].strip()]
    a, b = max(spans, default=(0, 0), key=lambda span: sum(
        model.weights[model.index[f], j] for f in _features(norm[span[0] : span[1]]) if f in model.index))
    return (text[a:b].strip(),) if text[a:b].strip() else ()


def _imply(shown: dict[str, tuple[str, ...]], relations: dict[str, _Relations]) -> None:
    for name, rel in relations.items():
        if not shown[name] and rel.implied_by:
            shown[name] = tuple(dict.fromkeys(q for other in rel.implied_by for q in shown[other]))[:MAX_EVIDENCE]


def _quotes(text: str, hits: list[Hit]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(q for h in hits if (q := text[h.start : h.end]).strip()))[:MAX_EVIDENCE]


def detect_objection_behaviours(drill: str, text: str, path: str | pathlib.Path | None = None) -> dict[str, Behaviour]:
    """Detect every behaviour of `drill` ("rumour" or "price") in one trainee reply, each with its quotes."""
    if drill not in OBJECTION_BEHAVIOURS:
        raise ValueError(f"unknown objection drill {drill!r}; expected one of {', '.join(OBJECTION_BEHAVIOURS)}")
    ids = OBJECTION_BEHAVIOURS[drill]
    spec = load_objections(path)[drill]
    text = as_text(text)[: spec.max_chars]  # a reply is read up to max_chars (Telegram allows 4,096)
    norm = normalise(text)
    found = spec.cues.channels(norm) if norm.strip() else {}
    ends = [m.start() for m in _SENTENCE_END.finditer(norm)]  # a hit's sentence: how many ends precede it
    hits = {name: _shown(name, rel, found, norm, ends) for name, rel in spec.relations.items()}
    shown = {name: _quotes(text, found_hits or []) for name, found_hits in hits.items()}
    _imply(shown, spec.relations)
    cued = [j for j, name in enumerate(ids) if shown[name]]
    models = [m for m in spec.models if m.reads(norm)]
    feats = _features(norm) if models else set()
    for model in models:  # a model adds what the cues missed, never what the bank never pairs with a cued one
        for j in np.flatnonzero(model.scores(feats) > 0):
            if not shown[ids[j]] and hits[ids[j]] is not None and not model.apart[j, cued].any():
                shown[ids[j]] = _typical(text, norm, model, int(j))
    _imply(shown, spec.relations)
    direct = dict(shown)
    for name, rel in spec.relations.items():
        if any(direct[other] for other in rel.blocked_by):
            shown[name] = ()
    return {name: Behaviour(bool(shown[name]), shown[name]) for name in ids}
