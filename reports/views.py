"""The plain rows reports are built from; storage fills them, reports render them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DrillRow:
    """One finished (or open) drill as a trainer sees it."""

    id: int
    team: str
    trainee_id: int
    trainee_name: str
    kind: str  # hot_button (later: rumour, price)
    mode: str  # practice | assigned
    persona: str
    scenario: str
    level: str
    lang: str
    state: str
    score: int | None  # the score the bot gave
    override_score: int | None  # the latest trainer override, if any
    override_reason: str
    override_by: str
    identified_at: int | None
    early_window: int
    started_at: datetime
    ended_at: datetime | None

    @property
    def final_score(self) -> int | None:
        return self.override_score if self.override_score is not None else self.score

    @property
    def identified_in_time(self) -> bool:
        return self.identified_at is not None and self.identified_at <= self.early_window

    @property
    def finished(self) -> bool:
        """Ended with a score: the drills that count in averages and rates."""
        return self.ended_at is not None and self.final_score is not None

    @property
    def active_at(self) -> datetime:
        """When the trainee last worked on this drill."""
        return self.ended_at or self.started_at


@dataclass(frozen=True)
class ExchangeRow:
    """One line of a drill's transcript."""

    drill_id: int
    seq: int
    speaker: str  # trainee | customer | coach | guess
    text: str
    motive: str | None  # trainee lines: the classified motive
    confidence: float | None
    evidence: tuple[str, ...]
    reaction: str | None  # trainee lines: hit | neutral | other | dislike | secondary
    points: int | None
    created_at: datetime


@dataclass(frozen=True)
class OverrideRow:
    drill_id: int
    old_score: int | None
    new_score: int
    reason: str
    trainer_name: str
    created_at: datetime
