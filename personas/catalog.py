"""The set of personas the bot can play, loaded once from data/personas/, with seeded choices.

The deck fixes five personas and their hot buttons; the catalog checks those stay true, and a
trainer may add more persona files beside them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from personas.loader import load_persona
from personas.models import LEVELS, Persona
from personas.yamlnodes import DataError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DECK_HOT_BUTTONS: dict[str, str] = {
    "fatalist": "security",
    "aggressive": "status",
    "deliberate": "details",
    "relational": "praise",
    "caring": "candor",
}


@dataclass(frozen=True)
class Catalog:
    personas: dict[str, Persona]

    @property
    def ids(self) -> tuple[str, ...]:
        deck = [pid for pid in DECK_HOT_BUTTONS if pid in self.personas]
        return tuple(deck + sorted(set(self.personas) - set(deck)))

    def get(self, persona_id: str) -> Persona:
        try:
            return self.personas[persona_id]
        except KeyError:
            raise KeyError(f"unknown persona {persona_id!r}; known: {', '.join(self.ids)}") from None

    def choose(self, rng: random.Random, persona_id: str | None = None, level: str | None = None):
        """Pick (persona, level, scenario) — any part not given is drawn from `rng`."""
        persona = self.get(persona_id) if persona_id else self.personas[rng.choice(self.ids)]
        chosen_level = level or rng.choice(LEVELS)
        if chosen_level not in LEVELS:
            raise KeyError(f"unknown level {chosen_level!r}; known: {', '.join(LEVELS)}")
        return persona, chosen_level, rng.choice(persona.scenarios)


def load_catalog(directory: Path | None = None) -> Catalog:
    """Load every persona file; raise the first DataError found. Use `check_directory` to see all."""
    personas: dict[str, Persona] = {}
    errors = check_directory(directory, personas)
    if errors:
        raise errors[0]
    return Catalog(personas)


def check_directory(directory: Path | None = None, into: dict[str, Persona] | None = None) -> list[DataError]:
    """Validate every persona file in `directory`; return all errors (an empty list means valid)."""
    directory = directory or DATA_DIR / "personas"
    personas = into if into is not None else {}
    errors: list[DataError] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        errors.append(DataError(str(directory), 0, "", "no persona files (*.yaml) found"))
    for path in files:
        try:
            persona = load_persona(path)
        except DataError as exc:
            errors.append(exc)
            continue
        expected = DECK_HOT_BUTTONS.get(persona.id)
        if expected and persona.hot_button != expected:
            errors.append(DataError(str(path), 0, "hot_button", f"the deck fixes {persona.id} -> {expected}",
                                    persona.hot_button))
            continue
        personas[persona.id] = persona
    failed = {Path(error.file).stem for error in errors}
    for missing in sorted(set(DECK_HOT_BUTTONS) - set(personas) - failed):
        errors.append(DataError(str(directory / f"{missing}.yaml"), 0, "", "deck persona file is missing"))
    return errors
