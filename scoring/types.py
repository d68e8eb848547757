"""The vocabulary every scorer shares: the five motives, a reply's classification, behaviours.

A motive is what a reply appeals to (the deck's 热键): security 安全感, status 地位或权势,
details 细节, praise 得到别人的赞扬, candor 坦诚. "none" means the reply carries no clear motive.
Backends implement `MotiveClassifier`; the rest of the product only sees `Classification`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

MOTIVES: tuple[str, ...] = ("security", "status", "details", "praise", "candor")
NONE = "none"
LABELS: tuple[str, ...] = (*MOTIVES, NONE)


@dataclass(frozen=True)
class Classification:
    """What one reply appeals to.

    `scores` maps every label in LABELS to a probability (they sum to 1);
    `evidence` holds the words of the reply that carry `motive` (empty when motive is none).
    """

    motive: str
    scores: Mapping[str, float]
    evidence: tuple[str, ...] = ()

    @property
    def confidence(self) -> float:
        return float(self.scores.get(self.motive, 0.0))

    def to_dict(self) -> dict:
        return {
            "motive": self.motive,
            "scores": {label: round(float(self.scores.get(label, 0.0)), 4) for label in LABELS},
            "evidence": list(self.evidence),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> Classification:
        return cls(
            motive=str(data["motive"]),
            scores={k: float(v) for k, v in dict(data["scores"]).items()},
            evidence=tuple(data.get("evidence", ())),
        )


@dataclass(frozen=True)
class Behaviour:
    """Whether a reply shows one behaviour (e.g. asks for a commitment), with the words that show it."""

    present: bool
    evidence: tuple[str, ...] = field(default=())


class MotiveClassifier(Protocol):
    """One backend that classifies a trainee reply by the motive it appeals to."""

    name: str

    def classify(self, text: str) -> Classification: ...
