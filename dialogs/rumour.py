"""The competitor-rumour drill: raised → (pressed)* → resolved and back to the agenda, or trust lost.

The customer repeats what a competitor said. A defensive answer or running the competitor down
costs trust; once the deck's rule is met (a false rumour: lightly, back to the visit's purpose or
calm confidence; a true one: faced directly), a constructive reply that does not offend resolves
it; anything else and the customer presses again (slide 27: a repeated concern matters), until
trust or patience runs out.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from dialogs.objection import ObjectionDrill, shown
from scoring.objection_rubric import from_records, score_rumour
from scoring.rubric import DrillScore
from scoring.types import Behaviour

MAX_PRESSES = 2
DEFENSIVE_TRUST, BASHING_TRUST = 1, 2


class RumourState(StrEnum):
    RAISED = "raised"
    PRESSED = "pressed"
    RESOLVED = "resolved"
    TRUST_LOST = "trust_lost"
    DEBRIEF = "debrief"
    ABANDONED = "abandoned"


OPEN = [RumourState.RAISED, RumourState.PRESSED]
ENDED = [RumourState.RESOLVED, RumourState.TRUST_LOST]


class RumourDrill(ObjectionDrill):
    KIND = "rumour"
    State = RumourState
    OPENING_LINE = "raise"
    TERMINAL = ("resolved", "trust_lost")
    CARD_EXTRAS = ("facts",)
    TRANSITIONS = [
        {"trigger": "respond", "source": OPEN, "dest": RumourState.TRUST_LOST, "conditions": "trust_gone"},
        {"trigger": "respond", "source": OPEN, "dest": RumourState.RESOLVED, "conditions": "answered"},
        {"trigger": "respond", "source": OPEN, "dest": RumourState.PRESSED},
        {"trigger": "finish", "source": ENDED, "dest": RumourState.DEBRIEF},
        {"trigger": "conclude", "source": [*OPEN, *ENDED], "dest": RumourState.DEBRIEF, "conditions": "has_replies"},
        {"trigger": "conclude", "source": [*OPEN, *ENDED], "dest": RumourState.ABANDONED},
    ]

    def apply(self, found: Mapping[str, Behaviour]) -> None:
        defensive, bashing = shown(found, "defensive"), shown(found, "bashes_competitor")
        self.data.trust -= DEFENSIVE_TRUST * defensive + BASHING_TRUST * bashing
        if self.scenario.true_rumour:
            meets_rule = shown(found, "acknowledges")
        else:
            meets_rule = shown(found, "redirects") or (shown(found, "calm") and shown(found, "confident"))
        # the rule may be met over several replies (owned up first, then the facts); this reply must not offend
        self.data.counters["met_rule"] = int(self.data.counters.get("met_rule", 0) or meets_rule)
        constructive = any(shown(found, b) for b in ("calm", "confident", "redirects", "acknowledges", "humour"))
        self.data.counters["answered"] = int(bool(self.data.counters["met_rule"]) and constructive
                                             and not defensive and not bashing)
        self.data.counters["offended"] = int(bashing) * 2 or int(defensive)
        if not self.data.counters["answered"]:
            self.data.presses += 1

    def answered(self) -> bool:
        return bool(self.data.counters.get("answered"))

    def trust_gone(self) -> bool:
        return self.data.trust <= 0 or self.data.presses > MAX_PRESSES or (self.out_of_time() and not self.answered())

    def line_key(self, found: Mapping[str, Behaviour]) -> str:
        if self.state_name in self.TERMINAL:
            return self.state_name
        offended = self.data.counters.get("offended", 0)
        return "bashing" if offended == 2 else "defensive" if offended == 1 else "press"

    def score(self) -> DrillScore:
        return score_rumour(from_records(self.records()), bool(self.scenario.true_rumour), self.data.outcome,
                            self.data.presses)
