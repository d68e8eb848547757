"""The use cases every persistent channel shares: start a drill, take a reply or a guess, end, report.

Handlers call one method here and render what it returns. Each step loads the open drill from
the database, moves the engine, and saves the new state with the step's exchanges in one go.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from dialogs.debrief import render_debrief
from dialogs.hot_button import DrillError, HotButtonDrill, Services
from dialogs.i18n import Translator
from dialogs.messages import COACH, DEBRIEF, PERSONA, SCENARIO, Message
from storage.models import DrillSession
from storage.repository import NewExchange, Store

SPEAKER = {PERSONA: "customer", SCENARIO: "coach", COACH: "coach", DEBRIEF: "coach"}


@dataclass(frozen=True)
class Outcome:
    """What to show the user, and the drill the buttons belong to."""

    messages: list[Message]
    drill_id: int | None


def _exchanges(messages: list[Message]) -> list[NewExchange]:
    return [NewExchange(SPEAKER[m.kind], m.text) for m in messages]


class Coach:
    def __init__(self, store: Store, services: Services, t: Translator, early_window: int,
                 rng: random.Random | None = None) -> None:
        self.store, self.services, self.t, self.early_window = store, services, t, early_window
        self.rng = rng or random.SystemRandom()

    def _load(self, row: DrillSession) -> HotButtonDrill:
        return HotButtonDrill.restore(self.services, {"state": row.state, "data": row.data})

    async def _open(self, user_id: int) -> DrillSession:
        row = await self.store.open_drill(user_id)
        if row is None:
            raise DrillError("no_drill")
        return row

    async def start(self, user_id: int, lang: str, persona: str | None = None, level: str | None = None) -> Outcome:
        running = await self.store.open_drill(user_id)
        if running is not None:
            name = self.services.catalog.get(running.persona).name.get(lang)
            raise DrillError("drill_running", persona=name)
        seed = self.rng.randrange(2**31)
        drill = HotButtonDrill.new(self.services, seed, lang, self.early_window, persona, level)
        messages = drill.start(self.t)
        data = drill.data
        drill_id = await self.store.create_drill(user_id, drill.to_dict(), data.persona, data.scenario, data.level,
                                                 lang, seed, _exchanges(messages))
        return Outcome(messages, drill_id)

    async def reply(self, user_id: int, text: str) -> Outcome:
        row = await self._open(user_id)
        drill = self._load(row)
        messages = drill.reply(text, self.t)
        record = drill.data.replies[-1]
        scored = {"classification": record.classification, "behaviours": record.behaviours,
                  "reaction": record.reaction, "rapport": record.rapport}
        trainee = NewExchange("trainee", text, scored)
        return await self._save(row.id, drill, [trainee, *_exchanges(messages)], messages)

    async def guess(self, user_id: int, drill_id: int, motive: str) -> Outcome:
        row = await self._current(user_id, drill_id)
        drill = self._load(row)
        messages = drill.guess(motive, self.t)
        return await self._save(row.id, drill, [NewExchange("guess", motive), *_exchanges(messages)], messages)

    async def end(self, user_id: int, drill_id: int | None = None) -> Outcome:
        row = await (self._current(user_id, drill_id) if drill_id is not None else self._open(user_id))
        drill = self._load(row)
        drill.end()
        if not drill.has_replies():
            messages = [Message(COACH, self.t(drill.data.lang, "drill.abandoned"))]
            await self.store.save_step(row.id, drill.to_dict(), _exchanges(messages), finished=True)
            return Outcome(messages, None)
        return await self._save(row.id, drill, [], [])

    async def current(self, user_id: int, drill_id: int) -> HotButtonDrill:
        """The open drill a button belongs to; DrillError("stale_button") if it has ended."""
        return self._load(await self._current(user_id, drill_id))

    async def _current(self, user_id: int, drill_id: int) -> DrillSession:
        """The open drill if `drill_id` names it; a button from an older drill is stale."""
        row = await self.store.open_drill(user_id)
        if row is None or row.id != drill_id:
            raise DrillError("stale_button")
        return row

    async def _save(self, drill_id: int, drill: HotButtonDrill, exchanges: list[NewExchange],
                    messages: list[Message]) -> Outcome:
        if not drill.finished:
            await self.store.save_step(drill_id, drill.to_dict(), exchanges, finished=False)
            return Outcome(messages, drill_id)
        score = drill.score()
        debrief = render_debrief(drill, self.t)
        points: dict[int, int] = {}
        for item in score.items:
            if item.reply is not None:
                points[item.reply] = points.get(item.reply, 0) + item.points
        await self.store.save_step(drill_id, drill.to_dict(), [*exchanges, *_exchanges(debrief)], finished=True,
                                   score=score.total, identified_at=score.identified_at, points_by_reply=points)
        return Outcome([*messages, *debrief], drill_id)
