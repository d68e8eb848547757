"""The job lock: which one of several bot workers runs the scheduled jobs.

Several webhook workers may serve one bot on one PostgreSQL database, and the weekly jobs must run in
exactly one of them. `JobLock` holds a PostgreSQL session-level advisory lock (`pg_try_advisory_lock`)
on a connection of its own, outside any pool, for as long as the worker lives: the worker whose
`refresh()` takes it runs the jobs; the others call `refresh()` periodically and take over once the
holder's session ends — a killed process's socket closes, the server ends its session, and the lock
goes with it. The holder's own `refresh()` checks that its connection is still alive and reports the
lock lost when it is not (a restarted server, a cut network), so two workers never both believe they
hold it for longer than one refresh. On SQLite (one process only) the lock is always held.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# One fixed 64-bit key per database for "the scheduled jobs of this bot": the bytes of "hbjobs1" as an integer.
JOB_LOCK_KEY = int.from_bytes(b"hbjobs1", "big")
CHECK_TIMEOUT_SECONDS = 5.0
RETRY_SECONDS = 15.0


class JobLock:
    """The advisory lock on `database_url` (always held on SQLite); `refresh()` takes, keeps or loses it.

    `retry_seconds` is how often its user should call `refresh()`; `timeout` bounds each database call."""

    def __init__(self, database_url: str, key: int = JOB_LOCK_KEY, retry_seconds: float = RETRY_SECONDS,
                 timeout: float = CHECK_TIMEOUT_SECONDS) -> None:
        self.key = key
        self.retry_seconds = retry_seconds
        self.timeout = timeout
        self.exclusive = database_url.startswith("postgresql")
        self._engine: AsyncEngine | None = (
            create_async_engine(database_url, poolclass=NullPool) if self.exclusive else None)
        self._connection: AsyncConnection | None = None
        self._held = not self.exclusive

    @property
    def held(self) -> bool:
        """Whether this process holds the lock as of the last `refresh()`."""
        return self._held

    async def refresh(self) -> bool:
        """Take the lock if it is free, or check that this process still holds it; returns whether it does.

        Never raises for a database that cannot be reached: the lock then counts as not held."""
        if not self.exclusive:
            return True
        try:
            if self._connection is None:
                await asyncio.wait_for(self._try_take(), self.timeout)
            else:
                await asyncio.wait_for(self._connection.execute(text("SELECT 1")), self.timeout)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            if self._held:
                log.warning("job lock lost: its database connection failed (%s)", exc.__class__.__name__)
            else:
                log.warning("job lock: database unreachable (%s); will retry", exc.__class__.__name__)
            await self._drop()
        self._held = self._connection is not None
        return self._held

    async def _try_take(self) -> None:
        assert self._engine is not None
        connection = await self._engine.connect()
        try:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            taken = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
        except BaseException:
            await connection.close()
            raise
        if taken:
            self._connection = connection
        else:
            await connection.close()

    async def _drop(self) -> None:
        """Forget a connection that failed; closing it ends its session on the server if it still exists."""
        connection, self._connection, self._held = self._connection, None, False
        if connection is not None:
            await self._close_broken(connection)

    async def release(self) -> None:
        """Give the lock up (at shutdown) so another worker takes over at its next refresh."""
        if not self.exclusive:
            return
        connection, self._connection, self._held = self._connection, None, False
        if connection is not None:
            try:
                await asyncio.wait_for(
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}), self.timeout)
                await connection.close()
            except (SQLAlchemyError, OSError, TimeoutError):
                log.warning("job lock: unlocking failed; the server drops it with the connection")
                await self._close_broken(connection)
        if self._engine is not None:
            await self._engine.dispose()

    @staticmethod
    async def _close_broken(connection: AsyncConnection) -> None:
        try:
            await connection.invalidate()
            await connection.close()
        except (SQLAlchemyError, OSError):
            log.debug("closing the job lock's broken connection failed", exc_info=True)
