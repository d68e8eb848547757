"""A full visit (advanced): a mixed hot-button customer who raises a rumour or a price objection mid-way.

Its own `transitions` machine runs the meeting (meeting → objection → resumed → debrief | abandoned)
over two inner drills it keeps whole in its data: the advanced hot-button drill with the persona,
and the objection drill the customer raises after `OBJECTION_AFTER` replies. The score combines
both (`HOT_SHARE` of the hot-button score, the rest from the objection), every item still quoted.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from transitions import Machine

from dialogs.base import DrillError, Services
from dialogs.hot_button import HotButtonDrill
from dialogs.messages import COACH, Message
from dialogs.objection import ObjectionDrill
from dialogs.price import PriceDrill
from dialogs.rumour import RumourDrill
from scoring.rubric import DrillScore, ScoreItem

KIND = "visit"
OBJECTION_AFTER = 2
HOT_SHARE = 0.6
ENGINES: dict[str, type[ObjectionDrill]] = {"rumour": RumourDrill, "price": PriceDrill}


class VisitState(StrEnum):
    MEETING = "meeting"
    OBJECTION = "objection"
    RESUMED = "resumed"
    DEBRIEF = "debrief"
    ABANDONED = "abandoned"


LIVE = [VisitState.MEETING, VisitState.OBJECTION, VisitState.RESUMED]
TRANSITIONS = [
    {"trigger": "raise_objection", "source": VisitState.MEETING, "dest": VisitState.OBJECTION},
    {"trigger": "settle", "source": VisitState.OBJECTION, "dest": VisitState.RESUMED},
    {"trigger": "conclude", "source": LIVE, "dest": VisitState.DEBRIEF, "conditions": "has_replies"},
    {"trigger": "conclude", "source": LIVE, "dest": VisitState.ABANDONED},
]


@dataclass
class VisitData:
    lang: str
    seed: int
    hot: dict  # the inner hot-button drill, as HotButtonDrill.to_dict() gives it
    objection: dict  # the inner objection drill, as ObjectionDrill.to_dict() gives it
    parts: list[str] = field(default_factory=list)  # which inner drill took each trainee reply
    score: dict | None = None

    @property
    def scenario(self) -> str:
        return f"{self.hot['data']['scenario']}+{self.objection['data']['scenario']}"


class VisitDrill:
    KIND = KIND

    def __init__(self, services: Services, data: VisitData, state: str = VisitState.MEETING) -> None:
        self.services, self.data = services, data
        self.hot = HotButtonDrill.restore(services, data.hot)
        self.objection = ENGINES[data.objection["kind"]].restore(services, data.objection)
        self.objection.speaker = self.hot.scenario.customer  # the same customer raises the objection
        self.machine = Machine(model=self, states=VisitState, transitions=TRANSITIONS, initial=VisitState(state),
                               auto_transitions=False)

    @classmethod
    def new(cls, services: Services, seed: int, lang: str, early_window: int, persona: str | None = None,
            scenario: str | None = None) -> VisitDrill:
        hot = HotButtonDrill.new(services, seed, lang, early_window, persona, "advanced")
        if scenario:
            chosen = services.scenarios.get(scenario)
        else:
            chosen = random.Random(f"{seed}:visit").choice(sorted(services.scenarios.scenarios.values(),
                                                                  key=lambda s: s.id))
        objection = ENGINES[chosen.drill].new(services, seed, lang, chosen.id)
        return cls(services, VisitData(lang, seed, hot.to_dict(), objection.to_dict()))

    @classmethod
    def restore(cls, services: Services, saved: Mapping) -> VisitDrill:
        return cls(services, VisitData(**saved["data"]), saved["state"])

    def to_dict(self) -> dict:
        self.data.hot, self.data.objection = self.hot.to_dict(), self.objection.to_dict()
        return {"kind": KIND, "state": self.state_name, "data": vars(self.data).copy()}

    @property
    def state_name(self) -> str:
        return VisitState(self.state).value

    @property
    def finished(self) -> bool:
        return self.state_name in ("debrief", "abandoned")

    @property
    def persona(self):
        return self.hot.persona

    def last_reply(self) -> dict:
        """How the last trainee reply was taken: by which part, and that part's record of it."""
        part = self.data.parts[-1]
        inner = self.hot if part == "hot" else self.objection
        record = vars(inner.data.replies[-1]).copy()
        record.pop("text", None)
        return {"part": part, **record}

    def has_replies(self) -> bool:
        return self.hot.has_replies() or self.objection.has_replies()

    # -- the meeting --------------------------------------------------------------------------------
    def start(self, t: Callable[..., str]) -> list[Message]:
        return self.hot.start(t)

    def reply(self, text: str, t: Callable[..., str]) -> list[Message]:
        if self.finished:
            raise DrillError("drill.already_finished")
        if self.state == VisitState.OBJECTION:
            self.data.parts.append("objection")
            messages = self.objection.reply(text, t)
            if self.objection.finished:
                self.settle()
                messages.append(Message(COACH, t(self.data.lang, "visit.back_to_meeting")))
            return messages
        self.data.parts.append("hot")
        messages = self.hot.reply(text, t)
        if self.hot.finished:
            self._finish()
        elif self.state == VisitState.MEETING and len(self.hot.data.replies) >= OBJECTION_AFTER:
            self.raise_objection()
            opening = self.objection.start(t)[1]  # the customer's line; the trainee has no briefing card now
            messages += [Message(COACH, t(self.data.lang, f"visit.objection_{self.objection.KIND}")), opening]
        return messages

    def guess(self, motive: str, t: Callable[..., str]) -> list[Message]:
        return self.hot.guess(motive, t)

    def end(self) -> None:
        if self.finished:
            raise DrillError("drill.already_finished")
        for inner in (self.hot, self.objection):
            if not inner.finished and inner.has_replies():
                inner.end()
        self._finish()

    def _finish(self) -> None:
        self.conclude()
        if self.state == VisitState.DEBRIEF:
            self.data.score = self.score().to_dict()

    # -- scoring ------------------------------------------------------------------------------------
    def score(self) -> DrillScore:
        hot, objection = self.hot.score(), self.objection.score() if self.objection.has_replies() else None
        objection_total = objection.total if objection else 0
        total = round(HOT_SHARE * hot.total + (1 - HOT_SHARE) * objection_total)
        items = [ScoreItem("visit_hot", "visit_part", hot.total, 100), *hot.items,
                 ScoreItem("visit_objection", "visit_part" if objection else "visit_skipped", objection_total, 100),
                 *(objection.items if objection else ())]
        return DrillScore(total=total, identified_at=hot.identified_at, items=tuple(items))
