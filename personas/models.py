"""Immutable models of persona content: bilingual text, scenarios, opening lines, reactions.

They are what `personas.loader` builds from data/personas/*.yaml; the drill engine only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LANGUAGES: tuple[str, ...] = ("zh", "en")
LEVELS: tuple[str, ...] = ("beginner", "intermediate", "advanced")
REACTION_KINDS: tuple[str, ...] = ("hit", "neutral", "other", "dislike", "secondary")
STAGES: tuple[str, ...] = ("early", "late")
PLACEHOLDERS: tuple[str, ...] = ("product", "org")


@dataclass(frozen=True)
class Text:
    """One user-facing text in both languages."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class Cue:
    id: str
    text: Text

    @property
    def is_secondary(self) -> bool:
        return self.id.startswith("secondary_")


@dataclass(frozen=True)
class Scenario:
    id: str
    industry: Text
    org: Text
    product: Text
    customer: Text
    situation: Text
    purpose: Text

    def fill(self, line: str, lang: str) -> str:
        """Put this scenario's product and organisation into a persona line."""
        return line.replace("{product}", self.product.get(lang)).replace("{org}", self.org.get(lang))


@dataclass(frozen=True)
class Opening:
    cues: tuple[str, ...]
    text: Text


@dataclass(frozen=True)
class Persona:
    id: str
    name: Text
    trait: Text
    hot_button: str
    secondary_motive: str
    dislikes: tuple[str, ...]
    summary: Text
    cues: tuple[Cue, ...]
    scenarios: tuple[Scenario, ...]
    openings: dict[str, tuple[Opening, ...]]
    reactions: dict[str, dict[str, tuple[Text, ...]]]
    closing_prompt: tuple[Text, ...]
    commitment: tuple[Text, ...]
    hesitant: tuple[Text, ...]
    why: Text
    model_replies: dict[str, tuple[str, ...]]
    source: str = field(default="", compare=False)

    def scenario(self, scenario_id: str) -> Scenario:
        for scenario in self.scenarios:
            if scenario.id == scenario_id:
                return scenario
        raise KeyError(f"persona {self.id!r} has no scenario {scenario_id!r}")

    def cue(self, cue_id: str) -> Cue:
        for cue in self.cues:
            if cue.id == cue_id:
                return cue
        raise KeyError(f"persona {self.id!r} has no cue {cue_id!r}")
