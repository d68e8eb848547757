"""Teams, memberships, invites and score overrides: the trainer side of the database.

Invite codes are unguessable (`secrets.token_urlsafe`), renewable and revocable; a trainer code
is single use. Report queries return the plain rows of reports/views.py.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from reports.views import DrillRow, ExchangeRow, OverrideRow
from storage.models import DrillSession, Exchange, Membership, ScoreOverride, Team, User
from storage.repository import Store, storable

TRAINER, TRAINEE = "trainer", "trainee"


class TeamExists(Exception):
    pass


def new_code() -> str:
    return secrets.token_urlsafe(12)  # 16 characters of [A-Za-z0-9_-], fits a /start payload


class Teams:
    """Trainer-side queries over the same database as `Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- teams and invites ----------------------------------------------------------------------
    async def create(self, name: str, admin_id: int) -> Team:
        now = self.store.clock()
        try:
            async with self.store.sessions.begin() as session:
                team = Team(name=storable(name), pass_mark=70, leaderboard=False, invite_code=new_code(),
                            trainer_code=new_code(), created_by=admin_id, created_at=now)
                session.add(team)
            return team
        except IntegrityError as exc:
            raise TeamExists(name) from exc

    async def all(self) -> list[Team]:
        async with self.store.sessions() as session:
            return list(await session.scalars(select(Team).order_by(Team.name)))

    async def of_user(self, user_id: int, role: str) -> list[Team]:
        async with self.store.sessions() as session:
            rows = await session.scalars(select(Team).join(Membership, Membership.team_id == Team.id)
                                         .where(Membership.user_id == user_id, Membership.role == role)
                                         .order_by(Team.name))
            return list(rows)

    async def update(self, team_id: int, **values: object) -> Team:
        async with self.store.sessions.begin() as session:
            team = await session.get(Team, team_id)
            for key, value in values.items():
                setattr(team, key, value)
            return team

    async def join(self, code: str, user_id: int) -> tuple[Team, str] | None:
        """Join by an invite (trainee) or trainer code; None if the code is unknown or revoked."""
        async with self.store.sessions.begin() as session:
            team = await session.scalar(select(Team).where(Team.invite_code == code))
            role = TRAINEE
            if team is None:
                team = await session.scalar(select(Team).where(Team.trainer_code == code))
                role = TRAINER
            if team is None:
                return None
            if role == TRAINER:
                team.trainer_code = None  # single use
            member = await session.get(Membership, (team.id, user_id))
            if member is None:
                session.add(Membership(team_id=team.id, user_id=user_id, role=role, joined_at=self.store.clock()))
            elif role == TRAINER:
                member.role = TRAINER
            return team, role

    async def members(self, team_id: int, role: str = TRAINEE) -> list[User]:
        async with self.store.sessions() as session:
            rows = await session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                         .where(Membership.team_id == team_id, Membership.role == role)
                                         .order_by(User.first_name))
            return list(rows)

    # -- reports ----------------------------------------------------------------------------------
    async def drill_rows(self, team_ids: list[int], user_id: int | None = None, since: datetime | None = None,
                         drill_id: int | None = None) -> list[DrillRow]:
        """Drills of the trainees of these teams (or of one user), oldest first, with the latest override."""
        query = (select(DrillSession, User, Team)
                 .join(User, User.id == DrillSession.user_id)
                 .join(Membership, (Membership.user_id == User.id) & (Membership.role == TRAINEE))
                 .join(Team, Team.id == Membership.team_id)
                 .where(Team.id.in_(team_ids)).order_by(DrillSession.started_at, DrillSession.id))
        if user_id is not None:
            query = query.where(DrillSession.user_id == user_id)
        if since is not None:
            query = query.where(DrillSession.started_at >= since)
        if drill_id is not None:
            query = query.where(DrillSession.id == drill_id)
        async with self.store.sessions() as session:
            rows = (await session.execute(query)).all()
            latest = await self._latest_overrides(session, [drill.id for drill, _, _ in rows])
        return [_drill_row(drill, user, team.name, latest.get(drill.id)) for drill, user, team in rows]

    async def _latest_overrides(self, session, drill_ids: list[int]) -> dict[int, tuple[ScoreOverride, str]]:
        if not drill_ids:
            return {}
        rows = await session.execute(select(ScoreOverride, User.first_name)
                                     .join(User, User.id == ScoreOverride.trainer_id)
                                     .where(ScoreOverride.drill_id.in_(drill_ids)).order_by(ScoreOverride.id))
        return {override.drill_id: (override, name) for override, name in rows}

    async def own_drill_rows(self, user_id: int) -> list[DrillRow]:
        """A trainee's own finished drills, whatever team they are in (for /me)."""
        async with self.store.sessions() as session:
            rows = (await session.execute(select(DrillSession, User).join(User, User.id == DrillSession.user_id)
                                          .where(DrillSession.user_id == user_id)
                                          .order_by(DrillSession.started_at, DrillSession.id))).all()
            latest = await self._latest_overrides(session, [drill.id for drill, _ in rows])
        return [_drill_row(drill, user, "", latest.get(drill.id)) for drill, user in rows]

    async def exchange_rows(self, drill_id: int) -> list[ExchangeRow]:
        return [_exchange_row(e) for e in await self.store.exchanges(drill_id)]

    async def overrides(self, drill_id: int) -> list[OverrideRow]:
        async with self.store.sessions() as session:
            rows = await session.execute(select(ScoreOverride, User.first_name)
                                         .join(User, User.id == ScoreOverride.trainer_id)
                                         .where(ScoreOverride.drill_id == drill_id).order_by(ScoreOverride.id))
            return [OverrideRow(o.drill_id, o.old_score, o.new_score, o.reason, name, o.created_at) for o, name in rows]

    async def add_override(self, drill_id: int, trainer_id: int, new_score: int, reason: str) -> OverrideRow:
        now = self.store.clock()
        async with self.store.sessions.begin() as session:
            drill = await session.get(DrillSession, drill_id)
            trainer = await session.get(User, trainer_id)
            session.add(ScoreOverride(drill_id=drill_id, trainer_id=trainer_id, old_score=drill.score,
                                      new_score=new_score, reason=storable(reason), created_at=now))
            return OverrideRow(drill_id, drill.score, new_score, reason, trainer.first_name if trainer else "", now)


def _drill_row(drill: DrillSession, user: User, team: str, override) -> DrillRow:
    latest, by = override if override else (None, "")
    return DrillRow(
        id=drill.id, team=team, trainee_id=user.id, trainee_name=user.first_name or str(user.id), kind=drill.kind,
        mode=drill.mode, persona=drill.persona, scenario=drill.scenario, level=drill.level, lang=drill.lang,
        state=drill.state, score=drill.score, override_score=latest.new_score if latest else None,
        override_reason=latest.reason if latest else "", override_by=by, identified_at=drill.identified_at,
        early_window=int((drill.data or {}).get("early_window", 3)), started_at=drill.started_at,
        ended_at=drill.ended_at)


def _exchange_row(exchange: Exchange) -> ExchangeRow:
    scored = exchange.classification or {}
    classification = scored.get("classification") or {}
    motive = classification.get("motive")
    confidence = (classification.get("scores") or {}).get(motive) if motive else None
    return ExchangeRow(drill_id=exchange.session_id, seq=exchange.seq, speaker=exchange.speaker, text=exchange.text,
                       motive=motive, confidence=confidence, evidence=tuple(classification.get("evidence") or ()),
                       reaction=scored.get("reaction"), points=exchange.points, created_at=exchange.created_at)
