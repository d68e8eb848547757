"""The debrief a trainee learns from: score, every rubric item with its quote, the cues, a better reply.

Rendered from a finished `HotButtonDrill` in the drill's language; plain text, phone-sized
paragraphs, so every channel can show it as it is.
"""

from __future__ import annotations

from collections.abc import Callable

from dialogs.hot_button import HotButtonDrill
from dialogs.messages import DEBRIEF, Button, Message
from scoring.rubric import DrillScore, ScoreItem

QUOTE_LIMIT = 120
MARK = {True: "✅", False: "❌"}


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def item_line(item: ScoreItem, lang: str, t: Callable[..., str], prefix: str = "") -> str:
    """One breakdown line: mark, rule, points, why, and the quote that earned or lost them."""
    motive = t(lang, f"motive.{item.motive}") if item.motive else ""
    title = t(lang, f"{prefix}rule.{item.rule}")
    points = f"{item.points}/{item.max_points}" if item.max_points else f"{item.points:+d}"
    good = item.points >= item.max_points if item.max_points else item.points >= 0
    explanation = t(lang, f"{prefix}verdict.{item.verdict}", reply=item.reply or "", motive=motive)
    line = f"{MARK[good]} {title} {points} — {explanation}"
    if item.quote:
        line += "\n   " + t(lang, "debrief.quote", quote=clip(item.quote))
    return line


def _weakest_reply(drill: HotButtonDrill) -> int | None:
    """The reply to show a better alternative for: the first that cooled the customer, else missed the motive."""
    replies = drill.data.replies
    for reaction in ("dislike", "other", "neutral", "secondary"):
        for record in replies:
            if record.reaction == reaction:
                return record.number
    return None


def render_debrief(drill: HotButtonDrill, t: Callable[..., str]) -> list[Message]:
    """All the debrief messages for a finished drill."""
    data, persona, lang = drill.data, drill.persona, drill.data.lang
    score = DrillScore.from_dict(data.score) if data.score else drill.score()
    hot = t(lang, f"motive.{persona.hot_button}")
    head = [t(lang, "debrief.title", persona=persona.name.get(lang), trait=persona.trait.get(lang), hot_button=hot,
              score=score.total)]
    if data.level == "advanced":
        head.append(t(lang, "debrief.mixed", secondary=t(lang, f"motive.{persona.secondary_motive}")))
    if score.identified_at is not None:
        head.append(t(lang, "debrief.identified_at", reply=score.identified_at, window=data.early_window))
    else:
        head.append(t(lang, "debrief.not_identified", window=data.early_window))
    if data.outcome:
        head.append(t(lang, f"debrief.outcome_{data.outcome}"))
    breakdown = [t(lang, "debrief.breakdown")] + [item_line(item, lang, t) for item in score.items]

    caught = score.identified_at is not None and score.identified_at <= data.early_window
    cues = [t(lang, "debrief.cues")]
    for cue_id in drill.opening_line().cues:
        cue = persona.cue(cue_id)
        status = "secondary" if cue.is_secondary else "caught" if caught else "missed"
        key = f"debrief.cue_{status}"
        cues.append(t(lang, key, cue=cue.text.get(lang)))
    cues.append(t(lang, "debrief.why", why=persona.why.get(lang)))

    better = [t(lang, "debrief.better")]
    weakest = _weakest_reply(drill)
    models = persona.model_replies[lang]
    if weakest is not None:
        said = data.replies[weakest - 1].text
        better.append(t(lang, "debrief.you_said", reply=weakest, quote=clip(said)))
    model = models[data.seed % len(models)]
    better.append(t(lang, "debrief.try", model=drill.scenario.fill(model, lang)))
    if weakest is None and len(models) > 1:
        better.append(t(lang, "debrief.try", model=drill.scenario.fill(models[(data.seed + 1) % len(models)], lang)))

    again = ((Button(t(lang, "button.again_same"), "again", f"{persona.id}:{data.level}"),
              Button(t(lang, "button.again_other"), "again", "surprise")),)
    return [Message(DEBRIEF, "\n".join(head + [""] + breakdown)),
            Message(DEBRIEF, "\n".join(cues + [""] + better), again)]
