"""The weekly drill service: open each team's window, invite, remind, start assigned drills, send the digest.

`sweep(now)` is idempotent and driven by the database and an injected time, so it can run every
minute, after a restart, or from a test that moves the clock: a window missed while the bot was
down is opened once when it comes back (if still open), a trainee who joins mid-window is invited
at the next sweep, and nothing is sent twice. Messages go out through a `Notifier`; a trainee who
has blocked the bot is marked inactive and not retried.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from channels.coach import Coach, Outcome
from dialogs.base import DrillError
from dialogs.i18n import Translator
from dialogs.registry import HOT_BUTTON, OBJECTION_ENGINES
from dialogs.weekly import choose_item, last_occurrence, level_for
from reports import charts
from storage.models import Assignment, Schedule, Team, User
from storage.weekly import WeeklyStore, plan_of

log = logging.getLogger(__name__)
Keyboard = list[list[tuple[str, str]]]  # rows of (label, callback data)


class Notifier(Protocol):
    async def send(self, user_id: int, text: str, keyboard: Keyboard | None = None) -> bool: ...

    async def send_photo(self, user_id: int, png: bytes, caption: str = "") -> bool: ...


class Weekly:
    def __init__(self, coach: Coach, store: WeeklyStore, notifier: Notifier, t: Translator) -> None:
        self.coach, self.store, self.notifier, self.t = coach, store, notifier, t
        self.tz = "UTC"  # the time zone of the team being swept, for the times its people read

    # -- the sweep ----------------------------------------------------------------------------------
    async def sweep(self, now: datetime) -> dict[str, int]:
        """Do whatever is due at `now` for every active schedule; return what was sent."""
        sent = {"invitations": 0, "reminders": 0, "digests": 0}
        for schedule, team in await self.store.active_schedules():
            try:
                await self._sweep_team(schedule, team, now, sent)
            except Exception:  # noqa: BLE001 — one team's failure must not stop the others; retried next sweep
                log.exception("weekly sweep failed for team_id=%s", team.id)
        return sent

    async def _sweep_team(self, schedule: Schedule, team: Team, now: datetime, sent: dict[str, int]) -> None:
        plan = plan_of(schedule)
        start = last_occurrence(plan, now)
        if schedule.last_opened != start and now < start + plan.window:
            await self.store.mark(team.id, last_opened=start)  # opened once, whatever happens next
            schedule.last_opened = start
        opened = schedule.last_opened
        if opened is None:
            return
        end = opened + plan.window
        self.tz = plan.tz
        if now < end:
            sent["invitations"] += await self._invite(team, opened, end, now)
            if now >= end - plan.reminder_before:
                sent["reminders"] += await self._remind(team, opened, end)
        elif schedule.digest_sent != opened:
            await self.store.mark(team.id, digest_sent=opened)
            await self._digest(team, opened, end)
            sent["digests"] += 1

    async def _invite(self, team: Team, start: datetime, end: datetime, now: datetime) -> int:
        existing = {a.user_id: a for a in await self.store.assignments(team.id, start)}
        count = 0
        for trainee in await self.store.people(team.id):
            assignment = existing.get(trainee.id)
            if assignment is None:
                assignment = await self._assign(team, trainee, start, end, now)
            if assignment.invited_at is None:
                text = self.t(trainee.language, "weekly.invitation", drill=self._label(assignment, trainee.language),
                              deadline=self._local(end, trainee.language, team))
                if await self._send(trainee, text, assignment):
                    await self.store.update_assignment(assignment.id, invited_at=now)
                    count += 1
        return count

    async def _assign(self, team: Team, trainee: User, start: datetime, end: datetime, now: datetime) -> Assignment:
        items = [(HOT_BUTTON, pid) for pid in self.coach.services.catalog.ids] + [(k, k) for k in OBJECTION_ENGINES]
        history = await self.store.history(trainee.id)
        kind, persona = choose_item(items, history, now)
        level = level_for([p for p in history if (p.kind, p.persona) == (kind, persona)])
        return await self.store.add_assignment(team.id, trainee.id, start, end, kind, persona,
                                               level if kind == HOT_BUTTON else None)

    async def _remind(self, team: Team, start: datetime, end: datetime) -> int:
        count = 0
        people = {user.id: user for user in await self.store.people(team.id)}
        for assignment in await self.store.assignments(team.id, start):
            trainee = people.get(assignment.user_id)
            if trainee is None or assignment.completed_at or assignment.reminded_at or not assignment.invited_at:
                continue
            text = self.t(trainee.language, "weekly.reminder", drill=self._label(assignment, trainee.language),
                          deadline=self._local(end, trainee.language, team))
            if await self._send(trainee, text, assignment):
                await self.store.update_assignment(assignment.id, reminded_at=self.coach.store.clock())
                count += 1
        return count

    async def _digest(self, team: Team, start: datetime, end: datetime) -> None:
        assignments = await self.store.assignments(team.id, start)
        names = {user.id: user.first_name for user in await self.store.people(team.id, active_only=False)}
        done = [a for a in assignments if a.completed_at is not None]
        missed = [names.get(a.user_id, str(a.user_id)) for a in assignments if a.completed_at is None]
        by_item: dict[str, list[int]] = {}
        for a in done:
            by_item.setdefault(a.persona or a.kind, []).append(a.score or 0)
        for trainer in await self.store.trainers(team.id):
            lang = trainer.language
            weakest = min(by_item, key=lambda k: sum(by_item[k]) / len(by_item[k])) if by_item else None
            average = round(sum(a.score or 0 for a in done) / len(done)) if done else "–"
            text = self.t(lang, "weekly.digest", team=team.name, start=self._local(start, lang, team),
                          end=self._local(end, lang, team), done=len(done), total=len(assignments),
                          rate=f"{round(100 * len(done) / len(assignments))}%" if assignments else "–",
                          average=average, missed=", ".join(missed) or "–",
                          weakest=self.coach.label(weakest, lang) if weakest else "–")
            await self.notifier.send(trainer.id, text)
            chart = self._heatmap(assignments, names, lang, team)
            if chart is not None:
                await self.notifier.send_photo(trainer.id, chart)

    def _heatmap(self, assignments: list[Assignment], names: dict[int, str], lang: str, team: Team) -> bytes | None:
        done = [a for a in assignments if a.completed_at is not None]
        if not done:
            return None
        trainees = sorted({names.get(a.user_id, str(a.user_id)) for a in assignments})
        items = sorted({a.persona or a.kind for a in assignments})
        rates = [[None for _ in items] for _ in trainees]
        for a in assignments:
            row, col = trainees.index(names.get(a.user_id, str(a.user_id))), items.index(a.persona or a.kind)
            rates[row][col] = (a.score or 0) / 100 if a.completed_at else 0.0
        title = self.t(lang, "weekly.heatmap_title", team=team.name)
        return charts.heatmap_png(trainees, [self.coach.label(i, lang) for i in items], rates, title)

    # -- starting an assigned drill -----------------------------------------------------------------
    async def start_assigned(self, user_id: int, lang: str, assignment_id: int, now: datetime) -> Outcome:
        assignment = await self.store.get_assignment(assignment_id)
        if assignment is None or assignment.user_id != user_id:
            raise DrillError("forged_button")
        if assignment.completed_at is not None:
            raise DrillError("weekly.already_done")
        if now >= assignment.window_end:
            raise DrillError("weekly.expired")
        if assignment.drill_id is not None:
            raise DrillError("weekly.already_started")
        outcome = await self.coach.start(user_id, lang, assignment.persona if assignment.kind == HOT_BUTTON else None,
                                         assignment.level, assignment.kind, mode="assigned")
        await self.store.update_assignment(assignment.id, drill_id=outcome.drill_id)
        return outcome

    # -- helpers ------------------------------------------------------------------------------------
    def _label(self, assignment: Assignment, lang: str) -> str:
        name = self.coach.label(assignment.persona or assignment.kind, lang)
        return f"{name} · {self.t(lang, f'level.{assignment.level}')}" if assignment.level else name

    def _local(self, moment: datetime, lang: str, team: Team) -> str:
        """A time as the team's trainees read it: in the schedule's time zone."""
        del lang, team
        return f"{moment.astimezone(ZoneInfo(self.tz)).strftime('%m-%d %H:%M')} ({self.tz})"

    async def _send(self, trainee: User, text: str, assignment: Assignment) -> bool:
        keyboard = [[(self.t(trainee.language, "weekly.start_button"), f"assigned|{assignment.id}|")]]
        if await self.notifier.send(trainee.id, text, keyboard):
            return True
        await self.store.deactivate(trainee.id)
        return False
