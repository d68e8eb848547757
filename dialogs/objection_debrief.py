"""The debrief of an objection drill: score and outcome, every rule with its quote, the deck's key point,
and a better way to say the weakest reply — the same style as the hot-button debrief."""

from __future__ import annotations

from collections.abc import Callable

from dialogs.debrief import clip, item_line
from dialogs.messages import DEBRIEF, Button, Message
from dialogs.objection import ObjectionDrill
from scoring.rubric import DrillScore


def _weakest(drill: ObjectionDrill, score: DrillScore) -> int | None:
    """The reply that lost the most points, else the first reply the customer had to press after."""
    lost = [item for item in score.items if item.reply and item.points < 0]
    if lost:
        return min(lost, key=lambda item: item.points).reply
    missing = [r.number for r in drill.data.replies if r.line in ("press", "defensive", "bashing", "grab")]
    return missing[0] if missing else None


def render_objection_debrief(drill: ObjectionDrill, t: Callable[..., str]) -> list[Message]:
    lang, scenario = drill.data.lang, drill.scenario
    score = DrillScore.from_dict(drill.data.score) if drill.data.score else drill.score()
    kind = t(lang, f"objection.kind_{drill.KIND}")
    if drill.KIND == "rumour":
        kind += " · " + t(lang, f"objection.{'true' if scenario.true_rumour else 'false'}_rumour")
    head = [t(lang, "objection.title", kind=kind, customer=scenario.text("customer", lang), score=score.total)]
    if drill.data.outcome:
        head.append(t(lang, f"objection.outcome_{drill.data.outcome}"))
    breakdown = [t(lang, "debrief.breakdown")] + [item_line(item, lang, t, "objection.") for item in score.items]
    lesson = [t(lang, "objection.key_point", point=scenario.key_point.get(lang)), "", t(lang, "debrief.better")]
    weakest = _weakest(drill, score)
    if weakest is not None:
        lesson.append(t(lang, "debrief.you_said", reply=weakest, quote=clip(drill.data.replies[weakest - 1].text)))
    models = scenario.model_replies[lang]
    lesson.append(t(lang, "debrief.try", model=scenario.fill(models[drill.data.seed % len(models)], lang)))
    again = ((Button(t(lang, "button.again_same"), "again", f"{drill.KIND}:{scenario.id}"),
              Button(t(lang, "button.again_other"), "again", drill.KIND)),)
    return [Message(DEBRIEF, "\n".join(head + [""] + breakdown)), Message(DEBRIEF, "\n".join(lesson), again)]
