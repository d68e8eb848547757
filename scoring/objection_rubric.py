"""Rubrics of the objection drills: behaviours per reply → a 0–100 score, every item naming the deck's rule.

Rumour (slides 24–28): stay calm; never run the competitor down (the heaviest cost); a false rumour
is treated lightly and the talk steered back to the visit's purpose, a true criticism faced directly
and defused with humour; be confident in the product; a repeated concern must be fully answered.
Price (slides 39–40): no unconditional discount (the heaviest cost); find the real reason from past
experience; frame value; leave room; trade any concession for something; keep the customer, not
yourself, at the centre.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scoring.rubric import DrillScore, ScoreItem

DEFENSIVE_COST, PRESS_COST = 8, 5


@dataclass(frozen=True)
class BehaviourReply:
    """A trainee reply and the behaviours found in it: id -> evidence (present ids only)."""

    number: int
    text: str
    shown: Mapping[str, tuple[str, ...]]

    def quote(self, behaviour: str) -> str:
        words = self.shown.get(behaviour) or ()
        return "…".join(words) if words else self.text


def from_records(records: Sequence[tuple[int, str, Mapping[str, Mapping]]]) -> list[BehaviourReply]:
    """Build rubric input from stored (number, text, {id: {"present", "evidence"}}) records."""
    return [BehaviourReply(number, text, {key: tuple(value.get("evidence") or ()) for key, value in found.items()
                                          if value.get("present")})
            for number, text, found in records]


def _first(replies: Sequence[BehaviourReply], behaviour: str) -> BehaviourReply | None:
    return next((r for r in replies if behaviour in r.shown), None)


def _reward(replies, behaviour: str, rule: str, points: int) -> ScoreItem:
    """Full points for the first reply that shows `behaviour`, quoted; none if no reply does."""
    found = _first(replies, behaviour)
    if found is None:
        return ScoreItem(rule, f"{rule}_missing", 0, points)
    return ScoreItem(rule, f"{rule}_shown", points, points, found.number, found.quote(behaviour))


def _avoid(replies, behaviour: str, rule: str, points: int, cost: int) -> list[ScoreItem]:
    """Full points unless a reply shows `behaviour`; each one costs `cost`, quoted."""
    offences = [r for r in replies if behaviour in r.shown]
    if not offences:
        return [ScoreItem(rule, f"{rule}_kept", points, points)]
    remaining, items = points, []
    for reply in offences:
        lost = min(cost, remaining)
        remaining -= lost
        items.append(ScoreItem(rule, f"{rule}_broken", -lost, 0, reply.number, reply.quote(behaviour)))
    return [ScoreItem(rule, f"{rule}_partly", remaining, points), *items]


def _total(items: list[ScoreItem]) -> int:
    return max(0, min(100, sum(i.points for i in items if i.max_points > 0)))


def score_rumour(replies: Sequence[BehaviourReply], true_rumour: bool, outcome: str, presses: int) -> DrillScore:
    resolved_max = 15 if true_rumour else 20
    items = [*_avoid(replies, "defensive", "stay_calm", 15, DEFENSIVE_COST),
             *_avoid(replies, "bashes_competitor", "no_bashing", 25, 25)]
    if true_rumour:
        items += [_reward(replies, "acknowledges", "acknowledge", 25), _reward(replies, "humour", "humour", 10),
                  _reward(replies, "confident", "confidence", 10)]
    else:
        items += [_reward(replies, "redirects", "redirect", 25), _reward(replies, "confident", "confidence", 15)]
    if outcome == "resolved":
        points = max(0, resolved_max - PRESS_COST * presses)
        items.append(ScoreItem("resolved", "resolved" if presses == 0 else "resolved_after_press", points,
                               resolved_max, reply=presses or None))
    else:
        items.append(ScoreItem("resolved", "not_resolved", 0, resolved_max))
    return DrillScore(total=_total(items), identified_at=None, items=tuple(items))


def score_price(replies: Sequence[BehaviourReply], outcome: str) -> DrillScore:
    unconditional = [r for r in replies if "immediate_discount" in r.shown and "trades_concession" not in r.shown]
    if unconditional:
        first = unconditional[0]
        caved = [ScoreItem("no_cave", "no_cave_broken", 0, 25, first.number, first.quote("immediate_discount"))]
    else:
        caved = [ScoreItem("no_cave", "no_cave_kept", 25, 25)]
    items = [*caved, _reward(replies, "probes_reason", "probe", 20), _reward(replies, "value_framing", "value", 15),
             _reward(replies, "leaves_room", "room", 10), _reward(replies, "trades_concession", "trade", 20),
             *_avoid(replies, "self_focused", "customer_focus", 10, 10)]
    if outcome == "bad_deal" and not unconditional:
        items.append(ScoreItem("outcome", "bad_deal", 0, 0))
    return DrillScore(total=_total(items), identified_at=None, items=tuple(items))
