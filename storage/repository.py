"""The repository: every read and write the bot makes, each in one short transaction.

A drill's new state and the exchanges that produced it are written together, so a crash leaves
either both or neither; a restarted bot reads the open drill back and resumes it exactly. The Telegram
update that caused a step is recorded in that same transaction (`UpdateKey`), so an update Telegram
delivers again after a crash is recognised (`DuplicateUpdate`, `processed_update`) and never applied twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from storage.models import Assignment, DrillSession, Exchange, ProcessedUpdate, User

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def storable(text: str) -> str:
    """`text` with NUL characters replaced by U+FFFD: PostgreSQL's text types refuse NUL, SQLite keeps it."""
    return text.replace("\x00", "\ufffd")


@dataclass(frozen=True)
class NewExchange:
    speaker: str  # trainee | customer | coach
    text: str
    classification: dict | None = None
    points: int | None = None


@dataclass(frozen=True)
class UpdateKey:
    """The Telegram update a write answers (bot id and update id), and the reply to keep with it."""

    bot_id: int
    update_id: int
    reply: dict | None = None  # what the bot answered, to be sent again if the update comes back


class DuplicateUpdate(Exception):
    """This update was already processed (its effect is stored); the write was rolled back."""

    def __init__(self, key: UpdateKey) -> None:
        super().__init__(f"update {key.update_id} of bot {key.bot_id} was already processed")
        self.key = key


class Store:
    """Async access to the database at `database_url`."""

    def __init__(self, database_url: str, clock: Clock = utc_now, echo: bool = False) -> None:
        self.engine: AsyncEngine = create_async_engine(database_url, echo=echo, pool_pre_ping=True)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.clock = clock

    async def close(self) -> None:
        await self.engine.dispose()

    # -- users ----------------------------------------------------------------------------------
    async def upsert_user(self, user_id: int, first_name: str, username: str | None, language: str) -> User:
        """Create the user on first contact (with `language`), else refresh the name; returns the row."""
        now = self.clock()
        # PostgreSQL refuses more than a column holds (SQLite keeps it): cut names as both keep them
        first_name = storable(first_name)[:256]
        username = storable(username)[:64] if username else username
        async with self.sessions.begin() as session:
            user = await session.get(User, user_id)
            if user is None:
                user = User(id=user_id, first_name=first_name[:256], username=username, language=language,
                            created_at=now, updated_at=now)
                session.add(user)
            elif (user.first_name, user.username) != (first_name[:256], username):
                user.first_name, user.username, user.updated_at = first_name[:256], username, now
            return user

    async def set_language(self, user_id: int, language: str) -> None:
        async with self.sessions.begin() as session:
            await session.execute(update(User).where(User.id == user_id).values(language=language,
                                                                                 updated_at=self.clock()))

    # -- drills ---------------------------------------------------------------------------------
    async def open_drill(self, user_id: int) -> DrillSession | None:
        async with self.sessions() as session:
            result = await session.execute(
                select(DrillSession).where(DrillSession.user_id == user_id, DrillSession.ended_at.is_(None)))
            return result.scalar_one_or_none()

    async def get_drill(self, drill_id: int) -> DrillSession | None:
        async with self.sessions() as session:
            return await session.get(DrillSession, drill_id)

    async def create_drill(self, user_id: int, saved: dict, *, persona: str, scenario: str, level: str, lang: str,
                           seed: int, exchanges: Sequence[NewExchange], mode: str = "practice",
                           update_key: UpdateKey | None = None) -> int:
        """A new drill and its opening exchanges (and the update that asked for it) in one transaction."""
        now = self.clock()
        async with self.sessions.begin() as session:
            marker = await self._mark_processed(session, update_key, user_id, now)
            drill = DrillSession(user_id=user_id, kind=saved["kind"], mode=mode, persona=persona, scenario=scenario,
                                 level=level, lang=lang, state=saved["state"], data=saved["data"], seed=seed,
                                 started_at=now, updated_at=now)
            session.add(drill)
            await session.flush()
            self._add_exchanges(session, drill.id, 0, exchanges, now)
            if marker is not None:  # the answer's buttons belong to the drill only now numbered
                marker.drill_id, marker.reply = drill.id, {**marker.reply, "drill_id": drill.id}
            return drill.id

    async def save_step(self, drill_id: int, saved: dict, exchanges: Sequence[NewExchange], finished: bool,
                        score: int | None = None, identified_at: int | None = None,
                        points_by_reply: dict[int, int] | None = None, update_key: UpdateKey | None = None) -> None:
        """Write the drill's new state, the exchanges of this step and the update it answers in one transaction;
        DuplicateUpdate (and nothing written) when that update was already processed."""
        now = self.clock()
        async with self.sessions.begin() as session:
            drill = await session.get(DrillSession, drill_id, with_for_update=True)
            if drill is None:
                raise LookupError(f"drill_sessions.id={drill_id} does not exist")
            marker = await self._mark_processed(session, update_key, drill.user_id, now)
            if marker is not None:
                marker.drill_id = drill_id
            drill.state, drill.data, drill.updated_at = saved["state"], saved["data"], now
            if finished:
                drill.ended_at, drill.score, drill.identified_at = now, score, identified_at
                if drill.mode == "assigned":  # the weekly assignment it answers is done, in the same transaction
                    await session.execute(update(Assignment).where(Assignment.drill_id == drill_id)
                                          .values(completed_at=now, score=score))
            last = await session.scalar(select(func.max(Exchange.seq)).where(Exchange.session_id == drill_id))
            self._add_exchanges(session, drill_id, last or 0, exchanges, now)
            if points_by_reply:
                await self._set_reply_points(session, drill_id, points_by_reply)

    @staticmethod
    async def _mark_processed(session, key: UpdateKey | None, user_id: int, now: datetime) -> ProcessedUpdate | None:
        """Record `key` as processed within `session`'s transaction; DuplicateUpdate if it already is."""
        if key is None:
            return None
        if await session.get(ProcessedUpdate, (key.bot_id, key.update_id)) is not None:
            raise DuplicateUpdate(key)
        marker = ProcessedUpdate(bot_id=key.bot_id, update_id=key.update_id, user_id=user_id,
                                 reply=key.reply or {}, created_at=now)
        session.add(marker)
        try:
            await session.flush()  # the primary key is the guard when two workers race on one update
        except IntegrityError as exc:
            raise DuplicateUpdate(key) from exc
        return marker

    async def processed_update(self, bot_id: int, update_id: int) -> ProcessedUpdate | None:
        """The record of an update already processed, or None."""
        async with self.sessions() as session:
            return await session.get(ProcessedUpdate, (bot_id, update_id))

    @staticmethod
    def _add_exchanges(session, drill_id: int, after: int, exchanges: Sequence[NewExchange], now: datetime) -> None:
        for offset, item in enumerate(exchanges, start=1):
            session.add(Exchange(session_id=drill_id, seq=after + offset, speaker=item.speaker,
                                 text=storable(item.text), classification=item.classification, points=item.points,
                                 created_at=now))

    @staticmethod
    async def _set_reply_points(session, drill_id: int, points_by_reply: dict[int, int]) -> None:
        rows = await session.scalars(select(Exchange).where(Exchange.session_id == drill_id,
                                                            Exchange.speaker == "trainee").order_by(Exchange.seq))
        for number, row in enumerate(rows, start=1):
            row.points = points_by_reply.get(number, 0)

    async def exchanges(self, drill_id: int) -> list[Exchange]:
        async with self.sessions() as session:
            rows = await session.scalars(select(Exchange).where(Exchange.session_id == drill_id)
                                         .order_by(Exchange.seq))
            return list(rows)
