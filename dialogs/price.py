"""The price-only drill: demand → probing → negotiation → a commitment, or a bad deal.

The customer talks only about price. Asking about past experience reveals the real reason;
framing value or a conditional offer moves to negotiation; a concession traded for something
closes with a commitment; an unconditional discount is pocketed and more is asked (twice, and
it is a bad deal); a reply that does none of this makes the customer repeat the demand.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from dialogs.objection import ObjectionDrill, shown
from scoring.objection_rubric import from_records, score_price
from scoring.rubric import DrillScore
from scoring.types import Behaviour

MAX_CAVES, MAX_STALLS = 2, 3


class PriceState(StrEnum):
    DEMAND = "demand"
    PROBING = "probing"
    NEGOTIATION = "negotiation"
    COMMITTED = "committed"
    BAD_DEAL = "bad_deal"
    DEBRIEF = "debrief"
    ABANDONED = "abandoned"


OPEN = [PriceState.DEMAND, PriceState.PROBING, PriceState.NEGOTIATION]
ENDED = [PriceState.COMMITTED, PriceState.BAD_DEAL]


class PriceDrill(ObjectionDrill):
    KIND = "price"
    State = PriceState
    OPENING_LINE = "demand"
    TERMINAL = ("committed", "bad_deal")
    CARD_EXTRAS = ("pressure", "room")
    TRANSITIONS = [
        {"trigger": "respond", "source": OPEN, "dest": PriceState.BAD_DEAL, "conditions": "deal_lost"},
        {"trigger": "respond", "source": OPEN, "dest": PriceState.COMMITTED, "conditions": "deal_traded"},
        {"trigger": "respond", "source": OPEN, "dest": PriceState.NEGOTIATION, "conditions": "negotiating"},
        {"trigger": "respond", "source": OPEN, "dest": PriceState.PROBING, "conditions": "probed"},
        {"trigger": "respond", "source": PriceState.DEMAND, "dest": PriceState.DEMAND},
        {"trigger": "respond", "source": PriceState.PROBING, "dest": PriceState.PROBING},
        {"trigger": "respond", "source": PriceState.NEGOTIATION, "dest": PriceState.NEGOTIATION},
        {"trigger": "finish", "source": ENDED, "dest": PriceState.DEBRIEF},
        {"trigger": "conclude", "source": [*OPEN, *ENDED], "dest": PriceState.DEBRIEF, "conditions": "has_replies"},
        {"trigger": "conclude", "source": [*OPEN, *ENDED], "dest": PriceState.ABANDONED},
    ]

    def apply(self, found: Mapping[str, Behaviour]) -> None:
        counters = self.data.counters
        traded = shown(found, "trades_concession")
        caved = shown(found, "immediate_discount") and not traded
        probed = shown(found, "probes_reason")
        framed = shown(found, "value_framing") or shown(found, "leaves_room")
        counters.update(this_caved=int(caved), this_probed=int(probed), this_framed=int(framed),
                        this_traded=int(traded))
        counters["caves"] = counters.get("caves", 0) + caved
        counters["revealed"] = int(counters.get("revealed", 0) or probed)
        counters["stalls"] = counters.get("stalls", 0) + int(not (probed or framed or traded or caved))

    def deal_lost(self) -> bool:
        c = self.data.counters
        return (c["caves"] >= MAX_CAVES or c["stalls"] >= MAX_STALLS
                or (self.out_of_time() and not c["this_traded"]))

    def deal_traded(self) -> bool:
        return bool(self.data.counters["this_traded"])

    def negotiating(self) -> bool:
        c = self.data.counters
        return bool(c["this_caved"] or c["this_framed"])

    def probed(self) -> bool:
        return bool(self.data.counters["this_probed"])

    def line_key(self, found: Mapping[str, Behaviour]) -> str:
        c = self.data.counters
        if self.state_name in self.TERMINAL:
            return self.state_name
        if c["this_caved"]:
            return "grab"
        if c["this_probed"]:
            return "reveal"
        return "counter" if c["this_framed"] else "press"

    def score(self) -> DrillScore:
        return score_price(from_records(self.records()), self.data.outcome)
