"""The database tables: users, drill sessions (state + data after every exchange), exchanges, teams,
weekly schedules and assignments, and the Telegram updates already processed (exactly-once delivery)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """A moment in UTC, aware in Python on every database (SQLite stores it naive, as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: storage takes aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # Telegram user id
    first_name: Mapped[str] = mapped_column(String(256), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="zh")
    # false once the user has blocked the bot: no more weekly invitations
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DrillSession(Base):
    __tablename__ = "drill_sessions"
    __table_args__ = (
        # At most one open drill per user: the partial index is the guard, in SQLite and PostgreSQL alike.
        Index("uq_open_drill_per_user", "user_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_drill_sessions_user_started", "user_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16), default="practice")  # practice | assigned
    persona: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    lang: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    score: Mapped[int | None] = mapped_column(Integer)
    identified_at: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    exchanges: Mapped[list[Exchange]] = relationship(back_populates="session", order_by="Exchange.seq")


class Exchange(Base):
    __tablename__ = "exchanges"
    __table_args__ = (UniqueConstraint("session_id", "seq", name="uq_exchange_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("drill_sessions.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))  # trainee | customer | coach
    text: Mapped[str] = mapped_column(Text)
    classification: Mapped[dict | None] = mapped_column(JSON)
    points: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    session: Mapped[DrillSession] = relationship(back_populates="exchanges")


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    pass_mark: Mapped[int] = mapped_column(Integer, default=70)
    leaderboard: Mapped[bool] = mapped_column(Boolean, default=False)
    invite_code: Mapped[str | None] = mapped_column(String(32), unique=True)  # trainees join with it
    trainer_code: Mapped[str | None] = mapped_column(String(32), unique=True)  # single use: makes a trainer
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Membership(Base):
    __tablename__ = "memberships"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # trainer | trainee
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScoreOverride(Base):
    """The audit log of trainers' score overrides; the drill keeps the bot's own score."""

    __tablename__ = "score_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drill_sessions.id", ondelete="CASCADE"), index=True)
    trainer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    old_score: Mapped[int | None] = mapped_column(Integer)
    new_score: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Schedule(Base):
    """A team's weekly drill: when the window opens (local day and time in an IANA zone) and for how long."""

    __tablename__ = "schedules"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    at: Mapped[str] = mapped_column(String(5))  # HH:MM local
    tz: Mapped[str] = mapped_column(String(64))
    window_minutes: Mapped[int] = mapped_column(Integer)
    reminder_minutes: Mapped[int] = mapped_column(Integer)  # before the window closes
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_opened: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the window invitations went out for
    digest_sent: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the window whose digest went out
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Assignment(Base):
    """One trainee's graded drill of one weekly window."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("team_id", "user_id", "window_start", name="uq_assignment_window"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    persona: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[str | None] = mapped_column(String(16))
    drill_id: Mapped[int | None] = mapped_column(ForeignKey("drill_sessions.id", ondelete="SET NULL"))
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    score: Mapped[int | None] = mapped_column(Integer)


class ProcessedUpdate(Base):
    """A Telegram update whose effect is stored, written in the same transaction as that effect.

    Telegram delivers an update again when the bot did not confirm it (a crash); the key (bot, update)
    recognises it, and `reply` is what the bot answered, so it can be sent again instead of redoing the step.
    """

    __tablename__ = "processed_updates"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger)
    drill_id: Mapped[int | None] = mapped_column(Integer)
    reply: Mapped[dict] = mapped_column(JSON)  # {"drill_id": ..., "messages": [{kind, text, buttons}]}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
