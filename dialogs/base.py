"""What every drill engine shares: its services, its domain error, seeded line choice and messages.

A drill's randomness comes only from `pick_line`, seeded by (seed, step, key), so the same seed
and the same replies always give the same drill, and a restored drill continues identically.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from personas.catalog import Catalog
from personas.drills import DrillCatalog
from personas.models import Text
from scoring.types import Behaviour, MotiveClassifier

Detector = Callable[[str], Mapping[str, Behaviour]]
ObjectionDetector = Callable[[str, str], Mapping[str, Behaviour]]


class DrillError(Exception):
    """A request that cannot be done now; `key` and `values` make the text the channel shows the user."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Services:
    """What the engines need from outside: content, the classifier and the behaviour detectors."""

    catalog: Catalog
    classifier: MotiveClassifier
    detect: Detector
    scenarios: DrillCatalog | None = None
    detect_objection: ObjectionDetector | None = None


def pick_line(seed: int, step: int, used_lines: dict[str, list[int]], key: str, lines: tuple[Text, ...]) -> Text:
    """A seeded choice that avoids repeating a line of a group until all of the group have been used."""
    used = used_lines.setdefault(key, [])
    if len(used) >= len(lines):
        used.clear()
    choices = [i for i in range(len(lines)) if i not in used]
    index = random.Random(f"{seed}:{step}:{key}").choice(choices)
    used.append(index)
    return lines[index]


def behaviours_dict(behaviours: Mapping[str, Behaviour]) -> dict[str, dict]:
    """Behaviours as stored in a drill's data (JSON-friendly)."""
    return {key: {"present": b.present, "evidence": list(b.evidence)} for key, b in behaviours.items()}
