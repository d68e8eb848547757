"""Per-reply behaviour detection for the two objection drills, each behaviour with the words that show it.

The competitor-rumour drill scores calm, defensive, bashes_competitor, redirects, acknowledges, humour and
confident; the price-only drill scores immediate_discount, probes_reason, leaves_room, trades_concession,
value_framing and self_focused (deck slides 24-28 and 39-40; definitions in data/drills/README.md). Cue
patterns live in data/scoring/objections.yaml and use the hot-button lexicon's syntax and normalisation
(scoring.lexicon): a behaviour is shown by any of its own cues, or by one cue from every list of a
`together` group inside one sentence ("如果" + "签三年" + "再让", "if you" + "commit" + "discount"). A cue
is dropped when a negation phrase frames it away in the same clause ("我不是说他们不好", "I'm not going to
knock them"). `implied_by` and `blocked_by` relate behaviours: calm is implied by the deck's good moves
unless the reply is defensive or runs the competitor down, and a concession traded for something is not an
immediate discount. Evidence is always an exact substring of the reply. The file is read once and cached;
any input (empty, emoji, control characters, 4,096 characters) is handled without raising.
"""

from __future__ import annotations

import functools
import pathlib
import re
from dataclasses import dataclass

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
_NEGATORS = ("neg_before", "neg_after")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?:\s|$)")
_KEYS = {"zh", "en", "negation", "negation_after", "together", "implied_by", "blocked_by"}


@dataclass(frozen=True)
class _Spec:
    """One behaviour compiled: its cues, negators and together-groups in one CueSet, and its relations."""

    cues: CueSet
    groups: tuple[int, ...]  # the number of lists in each together group
    implied_by: tuple[str, ...]
    blocked_by: tuple[str, ...]


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


def _spec(raw, where: str, shared: list[Cue], ids: tuple[str, ...]) -> _Spec:
    if not isinstance(raw, dict) or not set(raw) <= _KEYS:
        raise LexiconError(f"{where}: expected a mapping with keys among {', '.join(sorted(_KEYS))}")
    cues = list(shared)
    for lang in ("zh", "en"):
        cues += _compile(raw.get(lang, []), f"{where}.{lang}", "cue")
    cues += _compile(raw.get("negation", []), f"{where}.negation", "neg_before")
    cues += _compile(raw.get("negation_after", []), f"{where}.negation_after", "neg_after")
    groups = raw.get("together", [])
    if not isinstance(groups, list):
        raise LexiconError(f"{where}.together: expected a list of groups, each a list of cue lists")
    sizes = []
    for g, group in enumerate(groups):
        if not isinstance(group, list) or len(group) < 2:
            raise LexiconError(f"{where}.together[{g}]: expected at least two cue lists")
        for p, part in enumerate(group):
            cues += _compile(part, f"{where}.together[{g}][{p}]", f"t{g}.{p}")
        sizes.append(len(group))
    implied = _names(raw.get("implied_by", []), f"{where}.implied_by", ids)
    blocked = _names(raw.get("blocked_by", []), f"{where}.blocked_by", ids)
    return _Spec(CueSet(cues), tuple(sizes), implied, blocked)


@functools.lru_cache(maxsize=4)
def load_objections(path: str | pathlib.Path = OBJECTIONS_FILE) -> dict[str, dict[str, _Spec]]:
    """Read, validate and compile the objection cue file (cached per path): drill -> behaviour -> spec."""
    path = str(path)
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise LexiconError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: expected a mapping at the top level")
    negation = data.get("negation") or {}
    if not isinstance(negation, dict):
        raise LexiconError(f"{path}: negation: expected a mapping with before and after lists")
    shared = _compile(negation.get("before", []), f"{path}: negation.before", "neg_before")
    shared += _compile(negation.get("after", []), f"{path}: negation.after", "neg_after")
    drills = {}
    for drill, ids in OBJECTION_BEHAVIOURS.items():
        raw = data.get(drill)
        if not isinstance(raw, dict) or set(raw) != set(ids):
            raise LexiconError(f"{path}: {drill}: expected exactly the behaviours {', '.join(ids)}")
        drills[drill] = {b: _spec(raw[b], f"{path}: {drill}.{b}", shared, ids) for b in ids}
    return drills


def _sentence_of(norm: str, pos: int) -> int:
    return len(_SENTENCE_END.findall(norm, 0, pos))


def _shown(spec: _Spec, norm: str) -> list[Hit]:
    """The live hits that show the behaviour on their own or as a complete together-group."""
    hits = spec.cues.find(norm)
    negators = [h for h in hits if h.label in _NEGATORS]
    live = [h for h in hits if h.label not in _NEGATORS and not (negators and is_negated(norm, h, negators))]
    shown = [h for h in live if h.label == "cue"]
    for g, size in enumerate(spec.groups):
        parts = [[h for h in live if h.label == f"t{g}.{p}"] for p in range(size)]
        if not all(parts):
            continue
        sentences = [{_sentence_of(norm, h.start) for h in part} for part in parts]
        common = set.intersection(*sentences)
        shown += [h for part in parts for h in part if _sentence_of(norm, h.start) in common]
    return sorted(set(shown))


def _quotes(text: str, hits: list[Hit]) -> tuple[str, ...]:
    quotes: list[str] = []
    for hit in hits:
        quote = text[hit.start : hit.end]
        if quote.strip() and quote not in quotes:
            quotes.append(quote)
    return tuple(quotes[:MAX_EVIDENCE])


def detect_objection_behaviours(drill: str, text: str, path: str | pathlib.Path | None = None) -> dict[str, Behaviour]:
    """Detect every behaviour of `drill` ("rumour" or "price") in one trainee reply, each with its quotes."""
    if drill not in OBJECTION_BEHAVIOURS:
        raise ValueError(f"unknown objection drill {drill!r}; expected one of {', '.join(OBJECTION_BEHAVIOURS)}")
    specs = load_objections(str(path) if path is not None else str(OBJECTIONS_FILE))[drill]
    text = as_text(text)
    norm = normalise(text)
    found = {b: _quotes(text, _shown(spec, norm)) if norm.strip() else () for b, spec in specs.items()}
    for b, spec in specs.items():  # implications first, then blocks, each against the direct findings
        if not found[b] and spec.implied_by:
            implied = [q for other in spec.implied_by for q in found[other]]
            found[b] = tuple(dict.fromkeys(implied))[:MAX_EVIDENCE]
    direct = dict(found)
    for b, spec in specs.items():
        if any(direct[other] for other in spec.blocked_by):
            found[b] = ()
    return {b: Behaviour(bool(found[b]), found[b]) for b in OBJECTION_BEHAVIOURS[drill]}
