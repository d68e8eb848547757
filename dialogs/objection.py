"""The shared engine of the objection drills (competitor rumour, price-only customer).

A subclass gives its own `transitions` machine (states, transitions), how one reply's behaviours
change the drill's data, and which customer line answers each state. This base runs the meeting:
the scenario card and the customer's opening, one reply at a time, the end and the score; the
whole session (state + `ObjectionData`) round-trips through `to_dict`/`restore` like every drill.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from transitions import Machine

from dialogs.base import DrillError, Services, behaviours_dict, pick_line
from dialogs.messages import PERSONA, SCENARIO, Button, Message
from personas.drills import DrillScenario
from personas.models import Text
from scoring.rubric import DrillScore
from scoring.types import Behaviour

MAX_REPLIES = 6  # a meeting ends after this many replies whatever happens


def shown(found: Mapping[str, Behaviour], behaviour: str) -> bool:
    """Whether the detectors found `behaviour` in a reply."""
    return bool(found.get(behaviour) and found[behaviour].present)


@dataclass
class ObjectionReply:
    number: int
    text: str
    behaviours: dict
    line: str  # which customer line answered it


@dataclass
class ObjectionData:
    drill: str
    scenario: str
    lang: str
    seed: int
    step: int = 0
    trust: int = 2
    presses: int = 0
    counters: dict[str, int] = field(default_factory=dict)
    replies: list[ObjectionReply] = field(default_factory=list)
    outcome: str = ""
    used_lines: dict[str, list[int]] = field(default_factory=dict)
    score: dict | None = None

    @classmethod
    def from_dict(cls, data: Mapping) -> ObjectionData:
        values = dict(data)
        values["replies"] = [ObjectionReply(**r) for r in values.get("replies", [])]
        return cls(**values)


class ObjectionDrill:
    """Base of RumourDrill and PriceDrill; see those for each machine."""

    KIND = ""
    State: type[StrEnum]
    TRANSITIONS: list[dict] = []
    OPENING_LINE = ""
    TERMINAL: tuple[str, ...] = ()  # states after which the customer's line ends the meeting
    CARD_EXTRAS: tuple[str, ...] = ()

    def __init__(self, services: Services, data: ObjectionData, state: str | None = None) -> None:
        self.services, self.data = services, data
        self.scenario: DrillScenario = services.scenarios.get(data.scenario)
        self.speaker: Text | None = None  # who says the customer's lines, when not the scenario's customer (a visit)
        initial = self.State(state) if state else list(self.State)[0]
        self.machine = Machine(model=self, states=self.State, transitions=self.TRANSITIONS, initial=initial,
                               auto_transitions=False)

    @classmethod
    def new(cls, services: Services, seed: int, lang: str, scenario: str | None = None) -> ObjectionDrill:
        choices = services.scenarios.of_kind(cls.KIND)
        chosen = services.scenarios.get(scenario) if scenario else random.Random(f"{seed}:setup").choice(choices)
        if chosen.drill != cls.KIND:
            raise DrillError("objection.wrong_scenario", scenario=chosen.id)
        return cls(services, ObjectionData(drill=cls.KIND, scenario=chosen.id, lang=lang, seed=seed))

    @classmethod
    def restore(cls, services: Services, saved: Mapping) -> ObjectionDrill:
        return cls(services, ObjectionData.from_dict(saved["data"]), saved["state"])

    def to_dict(self) -> dict:
        return {"kind": self.KIND, "state": self.state_name, "data": asdict(self.data)}

    @property
    def state_name(self) -> str:
        return self.State(self.state).value

    @property
    def finished(self) -> bool:
        return self.state_name in ("debrief", "abandoned")

    def has_replies(self) -> bool:
        return bool(self.data.replies)

    # -- the meeting ------------------------------------------------------------------------------
    def start(self, t: Callable[..., str]) -> list[Message]:
        lang, s = self.data.lang, self.scenario
        extras = {name: s.text(name, lang) for name in self.CARD_EXTRAS}
        card = t(lang, f"objection.card_{self.KIND}", industry=s.text("industry", lang),
                 customer=s.text("customer", lang), situation=s.text("situation", lang),
                 purpose=s.text("purpose", lang), competitor=s.text("competitor", lang), **extras)
        return [Message(SCENARIO, card), self._line(self.OPENING_LINE, t)]

    def reply(self, text: str, t: Callable[..., str]) -> list[Message]:
        if self.finished:
            raise DrillError("drill.already_finished")
        found = self.services.detect_objection(self.KIND, text)
        self.apply(found)
        self.data.step += 1
        self.respond()
        key = self.line_key(found)
        self.data.replies.append(ObjectionReply(len(self.data.replies) + 1, text, behaviours_dict(found), key))
        messages = [self._line(key, t)]
        if self.state_name in self.TERMINAL:
            self.data.outcome = self.state_name
            self.finish()
            self.data.score = self.score().to_dict()
        return messages

    def end(self) -> None:
        if self.finished:
            raise DrillError("drill.already_finished")
        self.conclude()
        if self.state_name == "debrief":
            self.data.outcome = self.data.outcome or "ended"
            self.data.score = self.score().to_dict()

    # -- for subclasses ---------------------------------------------------------------------------
    def apply(self, found: Mapping[str, Behaviour]) -> None:
        raise NotImplementedError

    def line_key(self, found: Mapping[str, Behaviour]) -> str:
        raise NotImplementedError

    def score(self) -> DrillScore:
        raise NotImplementedError

    def out_of_time(self) -> bool:
        return len(self.data.replies) + 1 >= MAX_REPLIES

    def records(self) -> list[tuple[int, str, dict]]:
        return [(r.number, r.text, r.behaviours) for r in self.data.replies]

    # -- internals --------------------------------------------------------------------------------
    def _line(self, key: str, t: Callable[..., str]) -> Message:
        lang = self.data.lang
        line = pick_line(self.data.seed, self.data.step, self.data.used_lines, key, self.scenario.lines[key])
        speaker = (self.speaker or self.scenario.texts["customer"]).get(lang)
        text = t(lang, "drill.persona_line", customer=speaker,
                 line=self.scenario.fill(line.get(lang), lang))
        buttons = () if self.finished or self.state_name in self.TERMINAL else (
            (Button(t(lang, "button.end"), "end"),),)
        return Message(PERSONA, text, buttons)
