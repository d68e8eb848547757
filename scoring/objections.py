"""Per-reply behaviour detection for the two objection drills, each behaviour with the words that show it.

Rumour drill: calm, defensive, bashes_competitor, redirects, acknowledges, humour, confident; price drill:
immediate_discount, probes_reason, leaves_room, trades_concession, value_framing, self_focused (deck slides
24-28, 39-40; data/drills/README.md). Two layers decide together:

* the cue layer (scoring/objection_cues.py, phrases in data/scoring/objections.yaml) finds the exact words that
  show a behaviour, and notices when a reply frames one away ("我不是说他们不好", "I'm not going to knock them");
* the learned layer (scoring/objection_model.py) scores every behaviour from the reply's multilingual sentence
  embedding (the encoder scoring/embedding.py already holds) and a Naive-Bayes n-gram model, both trained on
  the labelled bank at first use and cached under var/cache/, and fuses them with the cue layer by weights and
  thresholds chosen by cross-validation on the bank only.

Evidence quotes the cue hits when the cue layer saw the behaviour, else the clause the embedding model finds
most typical of it; every quote is an exact substring of the reply. Then the consistency rules of the cue file:
`implied_by` (calm follows from the deck's good moves, with their quotes) and `blocked_by` (no calm, humour,
confidence or acknowledgement when defensive or bashing; a traded concession is not an immediate discount).
All is built once per cue file and cache folder; no input makes `detect_objection_behaviours` raise.
"""

from __future__ import annotations

import functools
import pathlib
from typing import NamedTuple

import numpy as np

from scoring import objection_cues as cues_layer
from scoring import objection_model as learned_layer
from scoring import objection_nb
from scoring.embedding import embed, has_words
from scoring.lexicon import Hit, LexiconError, as_text, normalise, read_mapping
from scoring.types import Behaviour

OBJECTION_BEHAVIOURS: dict[str, tuple[str, ...]] = {
    "rumour": ("calm", "defensive", "bashes_competitor", "redirects", "acknowledges", "humour", "confident"),
    "price": ("immediate_discount", "probes_reason", "leaves_room", "trades_concession", "value_framing",
              "self_focused"),
}
ROOT = pathlib.Path(__file__).resolve().parent.parent
OBJECTIONS_FILE = ROOT / "data" / "scoring" / "objections.yaml"
DEFAULT_CACHE_DIR = ROOT / "var" / "cache"
MAX_EVIDENCE = 6  # quotes kept per behaviour
MODEL_DEFAULTS = {"bank": "objections_bank", "learned": True, "max_chars": 2000}


class Learned(NamedTuple):
    """A drill's trained weights: embedding logistic regressions, Naive Bayes and the fusion choice."""

    w: np.ndarray
    b: np.ndarray
    nb: objection_nb.NaiveBayes
    fusion: learned_layer.Fusion
    meta: dict


class Drill(NamedTuple):
    layer: cues_layer.CueLayer
    learned: Learned | None
    max_chars: int


def load_objections(path: str | pathlib.Path | None = None,
                    cache_dir: str | pathlib.Path | None = None) -> dict[str, Drill]:
    """Compile the cue file and train (or load from `cache_dir`) each drill's learned layer; cached per paths."""
    return _load(str(pathlib.Path(path or OBJECTIONS_FILE).resolve()),
                 str(pathlib.Path(cache_dir or DEFAULT_CACHE_DIR).resolve()))


def _settings(data: dict, path: str) -> dict:
    raw = data.get("model") or {}
    settings = {**MODEL_DEFAULTS, **(raw if isinstance(raw, dict) else {"?": raw})}
    if (set(settings) != set(MODEL_DEFAULTS) or not isinstance(settings["bank"], str)
            or not isinstance(settings["learned"], bool) or isinstance(settings["max_chars"], bool)
            or not isinstance(settings["max_chars"], int) or settings["max_chars"] < 1):
        raise LexiconError(f"{path}: model: expected bank (a folder), learned (true/false), max_chars (a count)")
    return settings


@functools.lru_cache(maxsize=4)
def _load(path: str, cache_dir: str) -> dict[str, Drill]:
    data = read_mapping(path)
    settings = _settings(data, path)
    layers = cues_layer.compile_layers(data, path, OBJECTION_BEHAVIOURS)
    bank_dir = pathlib.Path(path).parent / settings["bank"]
    drills = {}
    for drill, ids in OBJECTION_BEHAVIOURS.items():
        learned = None
        if settings["learned"]:
            bank = learned_layer.load_bank(bank_dir, drill, ids)
            if bank.texts:
                learned = _train(drill, bank, layers[drill], pathlib.Path(path), bank_dir, pathlib.Path(cache_dir))
        drills[drill] = Drill(layers[drill], learned, settings["max_chars"])
    return drills


def jackknifed_states(layer: cues_layer.CueLayer, texts: list[str], ids: tuple[str, ...]) -> np.ndarray:
    """Cue states (1 shown, 0 silent, -1 only negated) of each bank reply without the cues no other reply fires."""
    norms = [normalise(text) for text in texts]
    fired = [cues_layer.fired(layer, norm) for norm in norms]
    counts: dict[int, int] = {}
    for found in fired:
        for cue in found:
            counts[cue] = counts.get(cue, 0) + 1
    rows = []
    for norm, found in zip(norms, fired, strict=True):
        hits = cues_layer.read(layer, norm, frozenset(c for c in found if counts[c] == 1))
        rows.append([cues_layer.state(hits[name]) for name in ids])
    return np.array(rows, dtype=int).reshape(len(texts), len(ids))


def _train(drill: str, bank: learned_layer.Bank, layer: cues_layer.CueLayer, cue_file: pathlib.Path,
           bank_dir: pathlib.Path, cache_dir: pathlib.Path) -> Learned:
    files = learned_layer.bank_files(bank_dir, drill)
    model = learned_layer.cached_model(bank, files, cache_dir, drill)
    feats = learned_layer.bank_features(bank)
    nb = objection_nb.fit_nb(feats, bank.labels)

    def choose() -> learned_layer.Fusion:
        states = jackknifed_states(layer, bank.texts, OBJECTION_BEHAVIOURS[drill])
        nb_oof = objection_nb.nb_out_of_fold(feats, bank.labels, model.folds)
        return learned_layer.choose_fusion(model.oof, nb_oof, states, bank.labels, bank.langs)

    key = learned_layer.files_hash([*files, cue_file], learned_layer.VERSION, drill)
    fusion = learned_layer.cached_fusion(cache_dir / f"objections-{drill}-fusion-{key}.json", choose)
    return Learned(model.w, model.b, nb, fusion, model.meta)


def _quotes(text: str, hits: list[Hit]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(q for h in hits if (q := text[h.start : h.end]).strip()))[:MAX_EVIDENCE]


def _clause_quote(text: str, spans: list[tuple[int, int]], clauses: np.ndarray, learned: Learned, j: int):
    """The clause the embedding model finds most typical of behaviour j, quoted exactly."""
    if not spans:
        return ()
    scores = np.hstack([clauses, clauses, clauses]) @ learned.w[:, j]
    a, b = spans[int(np.argmax(scores))]
    return (text[a:b],) if text[a:b].strip() else ()


def _imply(shown: dict[str, tuple[str, ...]], own: dict[str, tuple[str, ...]],
           relations: dict[str, cues_layer.Relations]) -> None:
    """A behaviour implied by others that are shown is shown too, quoting them unless its own cues matched."""
    for name, rel in relations.items():
        if not own[name] and rel.implied_by:
            implied = tuple(dict.fromkeys(q for other in rel.implied_by for q in shown[other]))[:MAX_EVIDENCE]
            shown[name] = implied or shown[name]


def detect_objection_behaviours(drill: str, text: str, path: str | pathlib.Path | None = None,
                                cache_dir: str | pathlib.Path | None = None) -> dict[str, Behaviour]:
    """Detect every behaviour of `drill` ("rumour" or "price") in one trainee reply, each with its quotes."""
    if drill not in OBJECTION_BEHAVIOURS:
        raise ValueError(f"unknown objection drill {drill!r}; expected one of {', '.join(OBJECTION_BEHAVIOURS)}")
    ids = OBJECTION_BEHAVIOURS[drill]
    spec = load_objections(path, cache_dir)[drill]
    text = as_text(text)[: spec.max_chars]  # a reply is read up to max_chars (Telegram allows 4,096)
    norm = normalise(text)
    hits = cues_layer.read(spec.layer, norm)
    states = np.array([cues_layer.state(hits[name]) for name in ids])
    present, quote = states > 0, lambda j: ()
    if spec.learned is not None and has_words(text) and any(ch.isalpha() for ch in text):  # not "42", not "？？"
        x, spans, clauses = embed([text])
        nb = spec.learned.nb.score(objection_nb.ngram_features(norm))
        present = spec.learned.fusion.decide(x[0] @ spec.learned.w + spec.learned.b, nb, states)
        quote = functools.partial(_clause_quote, text, spans[0], clauses[0], spec.learned)
    own = {name: _quotes(text, hits[name] or []) if present[j] else () for j, name in enumerate(ids)}
    shown = {name: own[name] or (quote(j) if present[j] else ()) for j, name in enumerate(ids)}
    _imply(shown, own, spec.layer.relations)
    direct = dict(shown)
    for name, rel in spec.layer.relations.items():
        if any(direct[other] for other in rel.blocked_by):
            shown[name] = ()
    return {name: Behaviour(bool(shown[name]), shown[name]) for name in ids}
