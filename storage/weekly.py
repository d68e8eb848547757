"""Weekly schedules and assignments in the database: the record the weekly sweep works from.

Every step the sweep takes (a window opened, an invitation, a reminder, a digest) is written here
as it happens, so a restarted bot neither repeats nor skips one.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select, update

from dialogs.weekly import Practice, WeeklyPlan
from storage.models import Assignment, DrillSession, Membership, Schedule, Team, User
from storage.repository import Store
from storage.teams import TRAINEE, TRAINER


def plan_of(schedule: Schedule) -> WeeklyPlan:
    hour, minute = (int(part) for part in schedule.at.split(":"))
    return WeeklyPlan(schedule.weekday, time(hour, minute), schedule.tz, timedelta(minutes=schedule.window_minutes),
                      timedelta(minutes=schedule.reminder_minutes))


class WeeklyStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def set_schedule(self, team_id: int, plan: WeeklyPlan | None) -> Schedule | None:
        """Create, change or (plan None) switch off a team's schedule; a change starts from the next window."""
        now = self.store.clock()
        async with self.store.sessions.begin() as session:
            schedule = await session.get(Schedule, team_id)
            if plan is None:
                if schedule is not None:
                    schedule.active, schedule.updated_at = False, now
                return schedule
            values = {"weekday": plan.weekday, "at": plan.at.strftime("%H:%M"), "tz": plan.tz,
                      "window_minutes": int(plan.window.total_seconds() // 60),
                      "reminder_minutes": int(plan.reminder_before.total_seconds() // 60), "active": True,
                      "updated_at": now}
            if schedule is None:
                schedule = Schedule(team_id=team_id, **values)
                session.add(schedule)
            else:
                for key, value in values.items():
                    setattr(schedule, key, value)
            return schedule

    async def schedule(self, team_id: int) -> Schedule | None:
        async with self.store.sessions() as session:
            return await session.get(Schedule, team_id)

    async def active_schedules(self) -> list[tuple[Schedule, Team]]:
        async with self.store.sessions() as session:
            rows = await session.execute(select(Schedule, Team).join(Team, Team.id == Schedule.team_id)
                                         .where(Schedule.active.is_(True)).order_by(Schedule.team_id))
            return [(schedule, team) for schedule, team in rows]

    async def mark(self, team_id: int, **values: datetime) -> None:
        async with self.store.sessions.begin() as session:
            await session.execute(update(Schedule).where(Schedule.team_id == team_id).values(**values))

    async def people(self, team_id: int, role: str = TRAINEE, active_only: bool = True) -> list[User]:
        query = (select(User).join(Membership, Membership.user_id == User.id)
                 .where(Membership.team_id == team_id, Membership.role == role).order_by(User.id))
        if active_only:
            query = query.where(User.active.is_(True))
        async with self.store.sessions() as session:
            return list(await session.scalars(query))

    async def trainers(self, team_id: int) -> list[User]:
        return await self.people(team_id, TRAINER)

    async def history(self, user_id: int) -> list[Practice]:
        async with self.store.sessions() as session:
            rows = await session.execute(select(DrillSession.kind, DrillSession.persona, DrillSession.ended_at,
                                                DrillSession.score)
                                         .where(DrillSession.user_id == user_id, DrillSession.score.is_not(None)))
            return [Practice(kind, persona, ended, score) for kind, persona, ended, score in rows]

    async def assignments(self, team_id: int, window_start: datetime) -> list[Assignment]:
        async with self.store.sessions() as session:
            return list(await session.scalars(select(Assignment).where(Assignment.team_id == team_id,
                                                                       Assignment.window_start == window_start)
                                              .order_by(Assignment.id)))

    async def add_assignment(self, team_id: int, user_id: int, start: datetime, end: datetime, kind: str,
                             persona: str | None, level: str | None) -> Assignment:
        async with self.store.sessions.begin() as session:
            assignment = Assignment(team_id=team_id, user_id=user_id, window_start=start, window_end=end, kind=kind,
                                    persona=persona, level=level)
            session.add(assignment)
            return assignment

    async def get_assignment(self, assignment_id: int) -> Assignment | None:
        async with self.store.sessions() as session:
            return await session.get(Assignment, assignment_id)

    async def update_assignment(self, assignment_id: int, **values: object) -> None:
        async with self.store.sessions.begin() as session:
            await session.execute(update(Assignment).where(Assignment.id == assignment_id).values(**values))

    async def deactivate(self, user_id: int) -> None:
        async with self.store.sessions.begin() as session:
            await session.execute(update(User).where(User.id == user_id).values(active=False))
