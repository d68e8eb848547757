"""The use cases every persistent channel shares: start a drill, take a reply or a guess, end, report.

Handlers call one method here and render what it returns. Each step loads the open drill from
the database, moves its engine, and saves the new state with the step's exchanges in one go.
Works for every drill kind through dialogs.registry. A channel that has an update id (Telegram) passes an
`UpdateKey`: it is stored with the step together with the rendered answer, so `replay` can send that answer
again when the same update is delivered a second time, instead of applying it twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from dialogs.base import DrillError, Services
from dialogs.hot_button import HotButtonDrill
from dialogs.i18n import Translator
from dialogs.messages import COACH, DEBRIEF, PERSONA, SCENARIO, Button, Message
from dialogs.registry import HOT_BUTTON, Drill, new_drill, render_end, restore_drill, row_fields
from dialogs.visit import VisitDrill
from storage.models import DrillSession
from storage.repository import NewExchange, Store, UpdateKey

SPEAKER = {PERSONA: "customer", SCENARIO: "coach", COACH: "coach", DEBRIEF: "coach"}


@dataclass(frozen=True)
class Outcome:
    """What to show the user, and the drill the buttons belong to."""

    messages: list[Message]
    drill_id: int | None

    def to_json(self) -> dict:
        """What the processed-update record keeps, to send the same answer again."""
        return {"drill_id": self.drill_id,
                "messages": [{"kind": m.kind, "text": m.text,
                              "buttons": [[[b.label, b.action, b.value] for b in row] for row in m.buttons]}
                             for m in self.messages]}

    @classmethod
    def from_json(cls, data: dict) -> Outcome:
        messages = [Message(m["kind"], m["text"], tuple(tuple(Button(*b) for b in row) for row in m["buttons"]))
                    for m in data.get("messages", [])]
        return cls(messages, data.get("drill_id"))


def _keyed(key: UpdateKey | None, outcome: Outcome) -> UpdateKey | None:
    """The update key carrying the answer it produced (None stays None)."""
    return None if key is None else UpdateKey(key.bot_id, key.update_id, outcome.to_json())


def _exchanges(messages: list[Message]) -> list[NewExchange]:
    return [NewExchange(SPEAKER[m.kind], m.text) for m in messages]


def _scored_reply(drill: Drill) -> dict:
    """What the transcript keeps of the last trainee reply: how it was classified and answered."""
    if isinstance(drill, VisitDrill):
        return drill.last_reply()
    record = drill.data.replies[-1]
    if isinstance(drill, HotButtonDrill):
        return {"classification": record.classification, "behaviours": record.behaviours,
                "reaction": record.reaction, "rapport": record.rapport}
    return {"behaviours": record.behaviours, "line": record.line}


class Coach:
    def __init__(self, store: Store, services: Services, t: Translator, early_window: int,
                 rng: random.Random | None = None) -> None:
        self.store, self.services, self.t, self.early_window = store, services, t, early_window
        self.rng = rng or random.SystemRandom()

    def _load(self, row: DrillSession) -> Drill:
        return restore_drill(self.services, {"kind": row.kind, "state": row.state, "data": row.data})

    def label(self, persona_or_kind: str, lang: str) -> str:
        """A persona's name, or an objection drill's name, in `lang`."""
        if persona_or_kind in self.services.catalog.personas:
            return self.services.catalog.get(persona_or_kind).name.get(lang)
        return self.t(lang, f"objection.kind_{persona_or_kind}")

    async def _open(self, user_id: int) -> DrillSession:
        row = await self.store.open_drill(user_id)
        if row is None:
            raise DrillError("no_drill")
        return row

    async def start(self, user_id: int, lang: str, persona: str | None = None, level: str | None = None,
                    kind: str = HOT_BUTTON, scenario: str | None = None, mode: str = "practice",
                    update_key: UpdateKey | None = None) -> Outcome:
        running = await self.store.open_drill(user_id)
        if running is not None:
            raise DrillError("drill_running", persona=self.label(running.persona, lang))
        seed = self.rng.randrange(2**31)
        drill = new_drill(self.services, kind, seed, lang, self.early_window, persona, level, scenario)
        messages = drill.start(self.t)
        key = _keyed(update_key, Outcome(messages, None))
        drill_id = await self.store.create_drill(user_id, drill.to_dict(), lang=lang, seed=seed,
                                                 exchanges=_exchanges(messages), mode=mode, update_key=key,
                                                 **row_fields(drill))
        return Outcome(messages, drill_id)

    async def reply(self, user_id: int, text: str, update_key: UpdateKey | None = None) -> Outcome:
        row = await self._open(user_id)
        drill = self._load(row)
        messages = drill.reply(text, self.t)
        trainee = NewExchange("trainee", text, _scored_reply(drill))
        return await self._save(row.id, drill, [trainee, *_exchanges(messages)], messages, update_key)

    async def guess(self, user_id: int, drill_id: int, motive: str, update_key: UpdateKey | None = None) -> Outcome:
        row = await self._current(user_id, drill_id)
        drill = self._load(row)
        if not isinstance(drill, HotButtonDrill | VisitDrill):
            raise DrillError("stale_button")
        messages = drill.guess(motive, self.t)
        return await self._save(row.id, drill, [NewExchange("guess", motive), *_exchanges(messages)], messages,
                                update_key)

    async def end(self, user_id: int, drill_id: int | None = None, update_key: UpdateKey | None = None) -> Outcome:
        row = await (self._current(user_id, drill_id) if drill_id is not None else self._open(user_id))
        drill = self._load(row)
        drill.end()
        if not drill.has_replies():
            messages = [Message(COACH, self.t(drill.data.lang, "drill.abandoned"))]
            await self.store.save_step(row.id, drill.to_dict(), _exchanges(messages), finished=True,
                                       update_key=_keyed(update_key, Outcome(messages, None)))
            return Outcome(messages, None)
        return await self._save(row.id, drill, [], [], update_key)

    async def replay(self, key: UpdateKey) -> Outcome | None:
        """The answer already given to this update if it was processed before (Telegram sent it again), else None."""
        row = await self.store.processed_update(key.bot_id, key.update_id)
        return None if row is None else Outcome.from_json(row.reply)

    async def current(self, user_id: int, drill_id: int) -> Drill:
        """The open drill a button belongs to; DrillError("stale_button") if it has ended."""
        return self._load(await self._current(user_id, drill_id))

    async def _current(self, user_id: int, drill_id: int) -> DrillSession:
        """The open drill if `drill_id` names it; a button from an older drill is stale."""
        row = await self.store.open_drill(user_id)
        if row is None or row.id != drill_id:
            raise DrillError("stale_button")
        return row

    async def _save(self, drill_id: int, drill: Drill, exchanges: list[NewExchange],
                    messages: list[Message], update_key: UpdateKey | None = None) -> Outcome:
        if not drill.finished:
            outcome = Outcome(messages, drill_id)
            await self.store.save_step(drill_id, drill.to_dict(), exchanges, finished=False,
                                       update_key=_keyed(update_key, outcome))
            return outcome
        score = drill.score()
        debrief = render_end(drill, self.t)
        points: dict[int, int] = {}
        for item in score.items if not isinstance(drill, VisitDrill) else ():  # a visit's parts number apart
            if item.reply is not None and item.rule != "resolved":
                points[item.reply] = points.get(item.reply, 0) + item.points
        outcome = Outcome([*messages, *debrief], drill_id)
        await self.store.save_step(drill_id, drill.to_dict(), [*exchanges, *_exchanges(debrief)], finished=True,
                                   score=score.total, identified_at=score.identified_at, points_by_reply=points,
                                   update_key=_keyed(update_key, outcome))
        return outcome
