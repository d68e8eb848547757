"""Per-reply behaviour detection for the two objection drills, each behaviour with the words that show it.

The competitor-rumour drill scores calm, defensive, bashes_competitor, redirects, acknowledges, humour and
confident; the price-only drill scores immediate_discount, probes_reason, leaves_room, trades_concession,
value_framing and self_focused (deck slides 24-28 and 39-40; definitions in data/drills/README.md). Cue
patterns live in data/scoring/objections.yaml and use the hot-button lexicon's syntax and normalisation
(scoring.lexicon). A behaviour is shown by any of its own cues, or by one cue from every list of a
`together` group inside one sentence ("如果" + "签三年" + "再让", "if you" + "three-year" + "discount"). A
cue is dropped when a negation phrase frames it away in the same clause ("我不是说他们不好", "I'm not going
to knock them"), or when one of the behaviour's `veto` phrases shares its sentence (a closing "您看行吗？"
is not a probing question). `implied_by` and `blocked_by` relate behaviours: calm is implied by the deck's
good moves unless the reply is defensive or runs the competitor down; a concession traded for something is
not an immediate discount. Every pattern of a drill runs once per reply through one anchor index; overlaps
are resolved, longest first, within each behaviour's own channel (cues with negators, vetoes, each
together-list), so one list never swallows another's hit. Evidence is always an exact substring of the
reply. The file is read once and cached; any input (empty, emoji, control characters, 4,096 characters)
is handled without raising.
"""

from __future__ import annotations

import functools
import pathlib
import re
from collections import defaultdict
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
_SHARED = "*"  # the owner of the shared negation phrases
_SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?:\s|$)")
_KEYS = {"zh", "en", "negation", "negation_after", "veto", "together", "implied_by", "blocked_by"}


@dataclass(frozen=True)
class _Relations:
    groups: tuple[int, ...]  # the number of lists in each together group
    implied_by: tuple[str, ...]
    blocked_by: tuple[str, ...]


class _DrillCues(CueSet):
    """Every cue of one drill, labelled "behaviour|channel"; `channels` finds them all in one pass."""

    def channels(self, norm: str) -> dict[str, list[Hit]]:
        """Hits per label, overlaps resolved longest first within each label (shared negators copied in)."""
        raw: dict[str, list[Hit]] = defaultdict(list)
        for index in self._candidates(norm):
            cue = self.cues[index]
            if cue.anchor and cue.anchor not in norm:
                continue
            raw[cue.label] += [Hit(m.start(), m.end(), cue.label, 1.0, index)
                               for m in cue.pattern.finditer(norm) if m.end() > m.start()]
        resolved = {label: _longest(hits) for label, hits in raw.items()}
        return resolved


def _longest(hits: list[Hit]) -> list[Hit]:
    taken: set[int] = set()
    kept = []
    for hit in sorted(hits, key=lambda h: (h.start - h.end, h.start)):
        span = range(hit.start, hit.end)
        if not taken.intersection(span):
            taken.update(span)
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
    cues += _compile(raw.get("negation", []), f"{where}.negation", f"{name}|neg_before")
    cues += _compile(raw.get("negation_after", []), f"{where}.negation_after", f"{name}|neg_after")
    cues += _compile(raw.get("veto", []), f"{where}.veto", f"{name}|veto")
    groups = raw.get("together", [])
    if not isinstance(groups, list):
        raise LexiconError(f"{where}.together: expected a list of groups, each a list of cue lists")
    sizes = []
    for g, group in enumerate(groups):
        if not isinstance(group, list) or len(group) < 2:
            raise LexiconError(f"{where}.together[{g}]: expected at least two cue lists")
        for p, part in enumerate(group):
            cues += _compile(part, f"{where}.together[{g}][{p}]", f"{name}|t{g}.{p}")
        sizes.append(len(group))
    relations = _Relations(tuple(sizes), _names(raw.get("implied_by", []), f"{where}.implied_by", ids),
                           _names(raw.get("blocked_by", []), f"{where}.blocked_by", ids))
    return cues, relations


@functools.lru_cache(maxsize=4)
def load_objections(path: str | pathlib.Path = OBJECTIONS_FILE) -> dict[str, tuple[_DrillCues, dict[str, _Relations]]]:
    """Read, validate and compile the objection cue file (cached per path): drill -> (cues, relations)."""
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
    shared = _compile(negation.get("before", []), f"{path}: negation.before", f"{_SHARED}|neg_before")
    shared += _compile(negation.get("after", []), f"{path}: negation.after", f"{_SHARED}|neg_after")
    drills = {}
    for drill, ids in OBJECTION_BEHAVIOURS.items():
        raw = data.get(drill)
        if not isinstance(raw, dict) or set(raw) != set(ids):
            raise LexiconError(f"{path}: {drill}: expected exactly the behaviours {', '.join(ids)}")
        cues, relations = list(shared), {}
        for name in ids:
            own, relations[name] = _behaviour(raw[name], f"{path}: {drill}.{name}", name, ids)
            cues += own
        drills[drill] = (_DrillCues(cues), relations)
    return drills


def _sentence_of(norm: str, pos: int) -> int:
    return len(_SENTENCE_END.findall(norm, 0, pos))


def _shown(name: str, rel: _Relations, found: dict[str, list[Hit]], norm: str) -> list[Hit]:
    """The live hits that show behaviour `name` on their own or as a complete together-group."""
    main = _longest(found.get(f"{name}|cue", []) + [h for kind in _NEGATORS for owner in (name, _SHARED)
                                                    for h in found.get(f"{owner}|{kind}", [])])
    negators = [h._replace(label=h.label.split("|")[1]) for h in main if not h.label.endswith("|cue")]
    vetoed = {_sentence_of(norm, h.start) for h in found.get(f"{name}|veto", [])}

    def live(hits: list[Hit]) -> list[Hit]:
        return [h for h in hits if not (negators and is_negated(norm, h, negators))
                and not (vetoed and _sentence_of(norm, h.start) in vetoed)]

    shown = live([h for h in main if h.label.endswith("|cue")])
    for g, size in enumerate(rel.groups):
        parts = [live(found.get(f"{name}|t{g}.{p}", [])) for p in range(size)]
        if not all(parts):
            continue
        common = set.intersection(*({_sentence_of(norm, h.start) for h in part} for part in parts))
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
    cues, relations = load_objections(str(path) if path is not None else str(OBJECTIONS_FILE))[drill]
    text = as_text(text)
    norm = normalise(text)
    found = cues.channels(norm) if norm.strip() else {}
    shown = {name: _quotes(text, _shown(name, rel, found, norm)) for name, rel in relations.items()}
    for name, rel in relations.items():  # implications first, then blocks, each against the direct findings
        if not shown[name] and rel.implied_by:
            shown[name] = tuple(dict.fromkeys(q for other in rel.implied_by for q in shown[other]))[:MAX_EVIDENCE]
    direct = dict(shown)
    for name, rel in relations.items():
        if any(direct[other] for other in rel.blocked_by):
            shown[name] = ()
    return {name: Behaviour(bool(shown[name]), shown[name]) for name in OBJECTION_BEHAVIOURS[drill]}
