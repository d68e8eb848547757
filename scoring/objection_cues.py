"""The cue layer of the objection-drill detector: hand-written phrases that show a behaviour, quoted exactly.

Reads data/scoring/objections.yaml (syntax and normalisation of the hot-button lexicon, scoring/lexicon.py).
One cue, or one cue from every list of a `together` group in one sentence ("如果" + "签三年" + "再让"), shows a
behaviour, unless a negation frames it away in its clause ("我不是说他们不好", "I'm not going to knock them") or a
`veto` phrase shares its sentence ("您看行吗？" closes, it does not probe). A drill's patterns run once per reply
through one anchor index, overlaps resolved longest first per behaviour and channel. `read` returns, per
behaviour, the live hits, an empty list, or None when the reply has only negated cues of it (it frames the
behaviour away). `drop` leaves chosen cues out: scoring/objection_model.py jackknifes the cues on the bank
they were written on, so cross-validation sees them as weak as they are on unseen replies.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from typing import NamedTuple

from scoring.lexicon import Cue, CueSet, Hit, LexiconError, compile_cue_list, is_negated

NEGATORS = ("neg_before", "neg_after")
SHARED = "*"  # the owner of the shared negation phrases
KEYS = {"zh", "en", "negation", "negation_after", "veto", "together", "implied_by", "blocked_by"}
SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?:\s|$)")


class Relations(NamedTuple):
    groups: tuple[int, ...]  # the number of lists in each together group
    implied_by: tuple[str, ...]
    blocked_by: tuple[str, ...]


class DrillCues(CueSet):
    """Every cue of one drill, labelled "behaviour|channel"; `channels` finds them all in one pass."""

    def channels(self, norm: str, drop: frozenset[int] = frozenset()) -> dict[str, list[Hit]]:
        raw: dict[str, list[Hit]] = defaultdict(list)
        for index in self._candidates(norm):
            cue = self.cues[index]
            if index not in drop and (not cue.anchor or cue.anchor in norm):
                raw[cue.label] += [Hit(m.start(), m.end(), cue.label, 1.0, index)
                                   for m in cue.pattern.finditer(norm) if m.end() > m.start()]
        return {label: longest(hits) for label, hits in raw.items()}


class CueLayer(NamedTuple):
    cues: DrillCues
    relations: dict[str, Relations]


def longest(hits: list[Hit]) -> list[Hit]:
    """The longest non-overlapping hits, in text order."""
    taken: set[int] = set()
    kept = []
    for hit in sorted(hits, key=lambda h: (h.start - h.end, h.start)):
        if not taken.intersection(range(hit.start, hit.end)):
            taken.update(range(hit.start, hit.end))
            kept.append(hit)
    return sorted(kept)


def compile_list(raw, where: str, label: str) -> list[Cue]:
    return compile_cue_list(raw, where, label)


def _names(raw, where: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(n, str) and n in allowed for n in raw):
        raise LexiconError(f"{where}: expected a list of behaviour ids among {', '.join(allowed)}")
    return tuple(raw)


def _behaviour(raw, where: str, name: str, ids: tuple[str, ...]) -> tuple[list[Cue], Relations]:
    if not isinstance(raw, dict) or not set(raw) <= KEYS:
        raise LexiconError(f"{where}: expected a mapping with keys among {', '.join(sorted(KEYS))}")
    cues = [c for lang in ("zh", "en") for c in compile_list(raw.get(lang, []), f"{where}.{lang}", f"{name}|cue")]
    for key, channel in (("negation", "neg_before"), ("negation_after", "neg_after"), ("veto", "veto")):
        cues += compile_list(raw.get(key, []), f"{where}.{key}", f"{name}|{channel}")
    groups = raw.get("together", [])
    if not isinstance(groups, list) or not all(isinstance(g, list) and len(g) >= 2 for g in groups):
        raise LexiconError(f"{where}.together: expected a list of groups, each of at least two cue lists")
    for g, group in enumerate(groups):
        for p, part in enumerate(group):
            cues += compile_list(part, f"{where}.together[{g}][{p}]", f"{name}|t{g}.{p}")
    return cues, Relations(tuple(len(g) for g in groups), _names(raw.get("implied_by", []),
                           f"{where}.implied_by", ids), _names(raw.get("blocked_by", []), f"{where}.blocked_by", ids))


def compile_layers(data: dict, where: str, drills: dict[str, tuple[str, ...]]) -> dict[str, CueLayer]:
    """Compile the cue file's mapping (already parsed) into one CueLayer per drill; errors name the field."""
    negation = data.get("negation") or {}
    if not isinstance(negation, dict):
        raise LexiconError(f"{where}: negation: expected a mapping with `before` and `after` lists")
    shared = compile_list(negation.get("before", []), f"{where}: negation.before", f"{SHARED}|neg_before")
    shared += compile_list(negation.get("after", []), f"{where}: negation.after", f"{SHARED}|neg_after")
    layers = {}
    for drill, ids in drills.items():
        raw = data.get(drill)
        if not isinstance(raw, dict) or set(raw) != set(ids):
            raise LexiconError(f"{where}: {drill}: expected exactly the behaviours {', '.join(ids)}")
        cues, relations = list(shared), {}
        for name in ids:
            own, relations[name] = _behaviour(raw[name], f"{where}: {drill}.{name}", name, ids)
            cues += own
        layers[drill] = CueLayer(DrillCues(cues), relations)
    return layers


def _shown(name: str, rel: Relations, found: dict[str, list[Hit]], norm: str, ends: list[int]) -> list[Hit] | None:
    """The live hits that show behaviour `name` alone or as a complete together-group; None when the reply
    has only negated cues of it."""
    main = longest(found.get(f"{name}|cue", []) + [h for kind in NEGATORS for owner in (name, SHARED)
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


def read(layer: CueLayer, norm: str, drop: frozenset[int] = frozenset()) -> dict[str, list[Hit] | None]:
    """Per behaviour of the drill: its live hits in the normalised reply, [] when none, None when only negated."""
    found = layer.cues.channels(norm, drop) if norm.strip() else {}
    ends = [m.start() for m in SENTENCE_END.finditer(norm)]  # a hit's sentence: how many ends precede it
    return {name: _shown(name, rel, found, norm, ends) for name, rel in layer.relations.items()}


def fired(layer: CueLayer, norm: str) -> set[int]:
    """Indices of the cues (any channel) that match somewhere in the normalised reply."""
    return {h.cue for hits in (layer.cues.channels(norm) if norm.strip() else {}).values() for h in hits}


def state(hits: list[Hit] | None) -> int:
    """The cue layer's vote on a behaviour: 1 shown, 0 silent, -1 only negated."""
    return -1 if hits is None else int(bool(hits))
