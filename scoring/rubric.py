"""The hot-button drill rubric: a 0–100 score whose every item names its rule and quotes the reply.

Rules (points): identification 40 — the first reply inside the early window that appeals to the
hot button, or a correct explicit guess made inside it; later earns less; a wrong guess costs 10.
Consistency 25 — later replies keep to that motive. Avoidance 15 — no reply appeals to what the
persona dislikes or hard-sells (5 each). Closing 20 — the trainee asks for a concrete commitment
(pushing to sign now does not count).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from scoring.types import NONE

IDENTIFY_MAX, CONSISTENCY_MAX, AVOID_MAX, CLOSING_MAX = 40, 25, 15, 20
LATE_BY_ONE, LATE_MORE = 25, 15
WRONG_GUESS_COST, DISLIKE_COST = 10, 5


@dataclass(frozen=True)
class ScoredReply:
    """What the rubric needs to know of one trainee reply."""

    number: int  # 1-based
    text: str
    motive: str
    evidence: tuple[str, ...] = ()
    pressure: tuple[str, ...] = ()  # words that hard-sell; empty when none
    commitment: tuple[str, ...] = ()  # words that ask for a commitment; empty when none


@dataclass(frozen=True)
class Guess:
    motive: str
    after_replies: int  # how many replies the trainee had sent when guessing


@dataclass(frozen=True)
class ScoreItem:
    """One line of the breakdown. `verdict` is a key the debrief renders in the user's language."""

    rule: str
    verdict: str
    points: int
    max_points: int
    reply: int | None = None
    quote: str = ""
    motive: str = ""


@dataclass(frozen=True)
class DrillScore:
    total: int
    identified_at: int | None  # reply number of identification (a guess counts at its reply), or None
    items: tuple[ScoreItem, ...] = field(default=())

    def to_dict(self) -> dict:
        return {"total": self.total, "identified_at": self.identified_at, "items": [asdict(i) for i in self.items]}

    @classmethod
    def from_dict(cls, data: dict) -> DrillScore:
        return cls(data["total"], data["identified_at"], tuple(ScoreItem(**item) for item in data["items"]))


def _quote(reply: ScoredReply, words: tuple[str, ...]) -> str:
    return "…".join(words) if words else reply.text


def _timing_points(number: int, window: int) -> int:
    if number <= window:
        return IDENTIFY_MAX
    return LATE_BY_ONE if number == window + 1 else LATE_MORE


def _identification(replies, hot, window, guess) -> tuple[list[ScoreItem], int | None]:
    first = next((r for r in replies if r.motive == hot), None)
    best: ScoreItem | None = None
    if first is not None:
        points = _timing_points(first.number, window)
        verdict = "identified_early" if first.number <= window else "identified_late"
        quote = _quote(first, first.evidence)
        best = ScoreItem("identification", verdict, points, IDENTIFY_MAX, first.number, quote, hot)
    identified_at = first.number if first else None
    items: list[ScoreItem] = []
    if guess is not None and guess.motive == hot:
        number = guess.after_replies + 1
        points = _timing_points(number, window)
        if best is None or points > best.points:
            verdict = "guessed_early" if number <= window else "guessed_late"
            best = ScoreItem("identification", verdict, points, IDENTIFY_MAX, None, "", hot)
            identified_at = min(identified_at or number, number)
    items.append(best or ScoreItem("identification", "not_identified", 0, IDENTIFY_MAX, motive=hot))
    if guess is not None and guess.motive != hot:
        items.append(ScoreItem("wrong_guess", "wrong_guess", -WRONG_GUESS_COST, 0, motive=guess.motive))
    return items, identified_at


def _consistency(replies, hot, identified_at) -> ScoreItem:
    if identified_at is None:
        return ScoreItem("consistency", "nothing_to_keep", 0, CONSISTENCY_MAX)
    later = [r for r in replies if r.number > identified_at and not (r.motive == NONE and r.commitment)]
    if not later:
        return ScoreItem("consistency", "kept", CONSISTENCY_MAX, CONSISTENCY_MAX)
    credit = sum(1.0 if r.motive == hot else 0.5 if r.motive == NONE else 0.0 for r in later)
    points = round(CONSISTENCY_MAX * credit / len(later))
    drift = next((r for r in later if r.motive not in (hot, NONE)), None)
    if drift is None:
        return ScoreItem("consistency", "kept", points, CONSISTENCY_MAX)
    return ScoreItem("consistency", "drifted", points, CONSISTENCY_MAX, drift.number,
                     _quote(drift, drift.evidence), drift.motive)


def _avoidance(replies, dislikes) -> list[ScoreItem]:
    offences = []
    for reply in replies:
        if reply.pressure:
            offences.append((reply, "hard_sell", _quote(reply, reply.pressure), ""))
        elif reply.motive in dislikes:
            offences.append((reply, "disliked_motive", _quote(reply, reply.evidence), reply.motive))
    if not offences:
        return [ScoreItem("avoidance", "avoided", AVOID_MAX, AVOID_MAX)]
    remaining = AVOID_MAX
    items = []
    for reply, verdict, quote, motive in offences:
        cost = min(DISLIKE_COST, remaining)
        remaining -= cost
        items.append(ScoreItem("avoidance", verdict, -cost, 0, reply.number, quote, motive))
    return [ScoreItem("avoidance", "partly_avoided", remaining, AVOID_MAX), *items]


def _closing(replies) -> ScoreItem:
    """A concrete next step earns the points; "sign today" is pressure, not a commitment ask (slides 20, 22)."""
    ask = next((r for r in reversed(replies) if r.commitment and not r.pressure), None)
    if ask is None:
        pushed = next((r for r in reversed(replies) if r.commitment), None)
        if pushed is not None:
            return ScoreItem("closing", "pushed_not_asked", 0, CLOSING_MAX, pushed.number,
                             _quote(pushed, pushed.pressure))
        return ScoreItem("closing", "no_commitment_asked", 0, CLOSING_MAX)
    return ScoreItem("closing", "commitment_asked", CLOSING_MAX, CLOSING_MAX, ask.number,
                     _quote(ask, ask.commitment))


def score_drill(replies: list[ScoredReply], hot_button: str, dislikes: tuple[str, ...], early_window: int,
                guess: Guess | None = None) -> DrillScore:
    """Score a whole hot-button drill from its trainee replies."""
    identification, identified_at = _identification(replies, hot_button, early_window, guess)
    items = [*identification, _consistency(replies, hot_button, identified_at), *_avoidance(replies, dislikes),
             _closing(replies)]
    # Items with a maximum are the four components; avoidance's minus items only detail its summary.
    counted = [i for i in items if i.max_points > 0 or i.rule == "wrong_guess"]
    total = max(0, min(100, sum(i.points for i in counted)))
    return DrillScore(total=total, identified_at=identified_at, items=tuple(items))
