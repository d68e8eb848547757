"""Every drill kind in one table: how to start one, restore it from the database, and debrief it.

Channels go through these functions and never need to know which engine a drill uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from dialogs.base import DrillError, Services
from dialogs.debrief import render_debrief
from dialogs.hot_button import HotButtonDrill
from dialogs.messages import DEBRIEF, Message
from dialogs.objection import ObjectionDrill
from dialogs.objection_debrief import render_objection_debrief
from dialogs.price import PriceDrill
from dialogs.rumour import RumourDrill
from dialogs.visit import HOT_SHARE as VISIT_HOT_SHARE
from dialogs.visit import VisitDrill

HOT_BUTTON, VISIT = "hot_button", "visit"
OBJECTION_ENGINES: dict[str, type[ObjectionDrill]] = {"rumour": RumourDrill, "price": PriceDrill}
KINDS = (HOT_BUTTON, *OBJECTION_ENGINES, VISIT)
Drill = HotButtonDrill | ObjectionDrill | VisitDrill


def new_drill(services: Services, kind: str, seed: int, lang: str, early_window: int, persona: str | None = None,
              level: str | None = None, scenario: str | None = None) -> Drill:
    if kind == HOT_BUTTON:
        return HotButtonDrill.new(services, seed, lang, early_window, persona, level)
    if kind == VISIT:
        if scenario is not None and scenario not in services.scenarios.scenarios:
            ids = ", ".join(sorted(services.scenarios.scenarios))
            raise DrillError("objection.unknown_scenario", scenario=scenario, scenarios=ids)
        return VisitDrill.new(services, seed, lang, early_window, persona, scenario)
    if kind not in OBJECTION_ENGINES:
        raise DrillError("objection.unknown_scenario", scenario=kind, scenarios=", ".join(KINDS))
    if scenario is not None and scenario not in services.scenarios.scenarios:
        ids = ", ".join(s.id for s in services.scenarios.of_kind(kind))
        raise DrillError("objection.unknown_scenario", scenario=scenario, scenarios=ids)
    return OBJECTION_ENGINES[kind].new(services, seed, lang, scenario)


def restore_drill(services: Services, saved: Mapping) -> Drill:
    kind = saved.get("kind") or saved["data"].get("drill") or HOT_BUTTON
    engine = {HOT_BUTTON: HotButtonDrill, VISIT: VisitDrill, **OBJECTION_ENGINES}[kind]
    return engine.restore(services, saved)


def render_end(drill: Drill, t: Callable[..., str]) -> list[Message]:
    if isinstance(drill, HotButtonDrill):
        return render_debrief(drill, t)
    if isinstance(drill, VisitDrill):
        lang, score = drill.data.lang, drill.score()
        parts = {item.rule: item.points for item in score.items if item.rule.startswith("visit_")}
        head = Message(DEBRIEF, t(lang, "visit.title", score=score.total, hot=parts["visit_hot"],
                                  objection=parts["visit_objection"], share=round(100 * VISIT_HOT_SHARE)))
        inner = render_debrief(drill.hot, t)
        if drill.objection.has_replies():
            inner += render_objection_debrief(drill.objection, t)
        return [head, *inner]
    return render_objection_debrief(drill, t)


def row_fields(drill: Drill) -> dict[str, str]:
    """What the drill_sessions row records of a drill: persona, scenario, level (objection drills: the kind)."""
    if isinstance(drill, HotButtonDrill):
        return {"persona": drill.data.persona, "scenario": drill.data.scenario, "level": drill.data.level}
    if isinstance(drill, VisitDrill):
        return {"persona": drill.hot.data.persona, "scenario": drill.data.scenario, "level": "advanced"}
    return {"persona": drill.KIND, "scenario": drill.data.scenario, "level": "standard"}
