"""The hot-button drill: a `transitions` state machine over one meeting with one persona.

States: opening → probing ⇄ engaged / guarded → closing → debrief (or abandoned). Each trainee
reply is classified, moves the persona's rapport and picks its next line; the whole session
(state + `DrillData`) round-trips through `to_dict`/`restore`, so a restarted bot resumes exactly.
Deterministic for a given seed: every random choice draws from a generator seeded by (seed, step).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from transitions import Machine

from dialogs.base import DrillError, Services, behaviours_dict, pick_line
from dialogs.messages import COACH, PERSONA, SCENARIO, Button, Message
from personas.models import Persona, Scenario, Text
from scoring.rubric import DrillScore, Guess, ScoredReply, score_drill
from scoring.types import MOTIVES, NONE, Behaviour, Classification

__all__ = ["DrillError", "HotButtonDrill", "Services", "State"]

KIND = "hot_button"
RAPPORT_STEP = {"hit": 2, "secondary": 1, "neutral": 0, "other": -1, "dislike": -2}
RAPPORT_MIN, RAPPORT_MAX, WARM, COLD = -4, 6, 2, -2
EXTRA_REPLIES_BEFORE_CLOSING = 2  # the meeting runs the early window plus this many replies
MIN_REPLIES_TO_CLOSE = 2  # an ask for commitment earlier than this is too soon to end the meeting


class State(StrEnum):
    OPENING = "opening"
    PROBING = "probing"
    ENGAGED = "engaged"
    GUARDED = "guarded"
    CLOSING = "closing"
    DEBRIEF = "debrief"
    ABANDONED = "abandoned"


ACTIVE = [State.OPENING, State.PROBING, State.ENGAGED, State.GUARDED]
TRANSITIONS = [
    {"trigger": "respond", "source": ACTIVE, "dest": State.CLOSING, "conditions": "time_to_close"},
    {"trigger": "respond", "source": ACTIVE, "dest": State.ENGAGED, "conditions": "is_warm"},
    {"trigger": "respond", "source": ACTIVE, "dest": State.GUARDED, "conditions": "is_cold"},
    {"trigger": "respond", "source": ACTIVE, "dest": State.PROBING},
    {"trigger": "conclude", "source": [*ACTIVE, State.CLOSING], "dest": State.DEBRIEF, "conditions": "has_replies"},
    {"trigger": "conclude", "source": [*ACTIVE, State.CLOSING], "dest": State.ABANDONED},
    {"trigger": "abandon", "source": [*ACTIVE, State.CLOSING], "dest": State.ABANDONED},
]


@dataclass
class ReplyRecord:
    number: int
    text: str
    classification: dict
    behaviours: dict
    reaction: str
    rapport: int


@dataclass
class DrillData:
    persona: str
    scenario: str
    level: str
    lang: str
    seed: int
    early_window: int
    opening: int = 0
    rapport: int = 0
    step: int = 0
    replies: list[ReplyRecord] = field(default_factory=list)
    guess: dict | None = None
    outcome: str = ""  # "committed" | "hesitant" once the meeting closed
    used_lines: dict[str, list[int]] = field(default_factory=dict)
    score: dict | None = None

    @classmethod
    def from_dict(cls, data: Mapping) -> DrillData:
        values = dict(data)
        values["replies"] = [ReplyRecord(**r) for r in values.get("replies", [])]
        return cls(**values)


class HotButtonDrill:
    """One drill session. Create with `HotButtonDrill.new`, or `restore` from a saved dict."""

    def __init__(self, services: Services, data: DrillData, state: State | str = State.OPENING) -> None:
        self.services = services
        self.data = data
        self.persona: Persona = services.catalog.get(data.persona)
        self.scenario: Scenario = self.persona.scenario(data.scenario)
        self.machine = Machine(model=self, states=State, transitions=TRANSITIONS, initial=State(state),
                               auto_transitions=False)

    # -- creation and persistence -------------------------------------------------------------
    @classmethod
    def new(cls, services: Services, seed: int, lang: str, early_window: int,
            persona: str | None = None, level: str | None = None) -> HotButtonDrill:
        rng = random.Random(f"{seed}:setup")
        chosen, chosen_level, scenario = services.catalog.choose(rng, persona, level)
        opening = rng.randrange(len(chosen.openings[chosen_level]))
        data = DrillData(persona=chosen.id, scenario=scenario.id, level=chosen_level, lang=lang, seed=seed,
                         early_window=early_window, opening=opening)
        return cls(services, data)

    @classmethod
    def restore(cls, services: Services, saved: Mapping) -> HotButtonDrill:
        return cls(services, DrillData.from_dict(saved["data"]), saved["state"])

    def to_dict(self) -> dict:
        return {"kind": KIND, "state": self.state_name, "data": asdict(self.data)}

    @property
    def state_name(self) -> str:
        return State(self.state).value

    @property
    def finished(self) -> bool:
        return self.state in (State.DEBRIEF, State.ABANDONED)

    # -- conditions used by the machine -------------------------------------------------------
    def time_to_close(self) -> bool:
        replies = self.data.replies
        asked = bool(replies) and bool(replies[-1].behaviours.get("commitment_ask", {}).get("present"))
        limit = self.data.early_window + EXTRA_REPLIES_BEFORE_CLOSING
        return len(replies) >= limit or (asked and len(replies) >= MIN_REPLIES_TO_CLOSE)

    def is_warm(self) -> bool:
        return self.data.rapport >= WARM

    def is_cold(self) -> bool:
        return self.data.rapport <= COLD

    def has_replies(self) -> bool:
        return bool(self.data.replies)

    # -- what the trainee does ----------------------------------------------------------------
    def start(self, t: Callable[..., str]) -> list[Message]:
        """The scenario card and the persona's opening line."""
        lang = self.data.lang
        card = t(lang, "drill.scenario_card", persona=self.persona.name.get(lang),
                 level=t(lang, f"level.{self.data.level}"), industry=self.scenario.industry.get(lang),
                 customer=self.scenario.customer.get(lang), situation=self.scenario.situation.get(lang),
                 purpose=self.scenario.purpose.get(lang), window=self.data.early_window)
        return [Message(SCENARIO, card), self._persona_message(self.opening_line().text.get(lang), t)]

    def reply(self, text: str, t: Callable[..., str]) -> list[Message]:
        """Take one trainee reply: classify, move rapport and state, answer as the persona."""
        if self.finished:
            raise DrillError("drill.already_finished")
        classification = self.services.classifier.classify(text)
        behaviours = self.services.detect(text)
        reaction = self._reaction_kind(classification, behaviours)
        self.data.rapport = max(RAPPORT_MIN, min(RAPPORT_MAX, self.data.rapport + RAPPORT_STEP[reaction]))
        number = len(self.data.replies) + 1
        self.data.replies.append(ReplyRecord(
            number=number, text=text, classification=classification.to_dict(),
            behaviours=behaviours_dict(behaviours),
            reaction=reaction, rapport=self.data.rapport))
        self.data.step += 1
        if self.state == State.CLOSING:
            return self._close(t)
        self.respond()
        if self.state == State.CLOSING:
            asked = behaviours.get("commitment_ask")
            if asked is not None and asked.present:
                return self._close(t)
            return [self._persona_message(self._pick("closing_prompt", self.persona.closing_prompt).get(self.data.lang),
                                          t)]
        line = self._pick(f"{reaction}.{self._stage(number)}", self.persona.reactions[reaction][self._stage(number)])
        return [self._persona_message(line.get(self.data.lang), t, mood=self._mood(reaction))]

    def guess(self, motive: str, t: Callable[..., str]) -> list[Message]:
        """The trainee names the hot button explicitly (once per drill)."""
        if self.finished:
            raise DrillError("drill.already_finished")
        if motive not in MOTIVES:
            raise DrillError("drill.unknown_motive")
        if self.data.guess is not None:
            raise DrillError("drill.already_guessed")
        self.data.guess = {"motive": motive, "after_replies": len(self.data.replies)}
        self.data.step += 1
        lang = self.data.lang
        return [Message(COACH, t(lang, "drill.guess_recorded", motive=t(lang, f"motive.{motive}")))]

    def end(self) -> None:
        """End the meeting now (the trainee's /end): to the debrief, or abandoned if nothing was said."""
        if self.finished:
            raise DrillError("drill.already_finished")
        self.conclude()
        self._finish_score()

    # -- scoring ------------------------------------------------------------------------------
    def score(self) -> DrillScore:
        guess = Guess(**self.data.guess) if self.data.guess else None
        return score_drill(self.scored_replies(), self.persona.hot_button, self.persona.dislikes,
                           self.data.early_window, guess)

    def scored_replies(self) -> list[ScoredReply]:
        result = []
        for record in self.data.replies:
            cls = Classification.from_dict(record.classification)
            pressure = record.behaviours.get("pressure", {})
            ask = record.behaviours.get("commitment_ask", {})
            result.append(ScoredReply(
                number=record.number, text=record.text, motive=cls.motive, evidence=cls.evidence,
                pressure=tuple(pressure.get("evidence") or ("…",)) if pressure.get("present") else (),
                commitment=tuple(ask.get("evidence") or ("…",)) if ask.get("present") else ()))
        return result

    # -- internals ----------------------------------------------------------------------------
    def opening_line(self):
        return self.persona.openings[self.data.level][self.data.opening]

    def _reaction_kind(self, classification: Classification, behaviours: Mapping[str, Behaviour]) -> str:
        pressure = behaviours.get("pressure")
        motive = classification.motive
        if (pressure is not None and pressure.present) or motive in self.persona.dislikes:
            return "dislike"
        if motive == self.persona.hot_button:
            return "hit"
        if motive == NONE:
            return "neutral"
        if motive == self.persona.secondary_motive and self.data.level == "advanced":
            return "secondary"
        return "other"

    def _stage(self, number: int) -> str:
        return "early" if number <= self.data.early_window else "late"

    def _close(self, t: Callable[..., str]) -> list[Message]:
        last = self.data.replies[-1]
        asked = bool(last.behaviours.get("commitment_ask", {}).get("present"))
        won = asked and self.data.rapport >= WARM
        self.data.outcome = "committed" if won else "hesitant"
        lines = self.persona.commitment if won else self.persona.hesitant
        message = self._persona_message(self._pick(self.data.outcome, lines).get(self.data.lang), t)
        self.conclude()
        self._finish_score()
        return [message]

    def _finish_score(self) -> None:
        if self.state == State.DEBRIEF:
            self.data.score = self.score().to_dict()

    @staticmethod
    def _mood(reaction: str) -> str:
        step = RAPPORT_STEP[reaction]
        return "warmer" if step > 0 else "cooler" if step < 0 else "same"

    def _persona_message(self, line: str, t: Callable[..., str], mood: str = "") -> Message:
        lang = self.data.lang
        text = t(lang, "drill.persona_line", customer=self.scenario.customer.get(lang),
                 line=self.scenario.fill(line, lang))
        if mood:
            text += "\n" + t(lang, f"drill.mood_{mood}")
        return Message(PERSONA, text, self.buttons(t))

    def buttons(self, t: Callable[..., str]) -> tuple[tuple[Button, ...], ...]:
        lang = self.data.lang
        row = [Button(t(lang, "button.end"), "end")]
        if self.data.guess is None and not self.finished:
            row.insert(0, Button(t(lang, "button.name_hot_button"), "guessmenu"))
        return (tuple(row),)

    def _pick(self, key: str, lines: tuple[Text, ...]) -> Text:
        return pick_line(self.data.seed, self.data.step, self.data.used_lines, key, lines)
