"""The databases the tests run storage on: a new SQLite file, or a new PostgreSQL database of the test's own on
the server that TEST_POSTGRES_URL names (a postgresql:// URL whose user may CREATE DATABASE; .ci/run starts such
a server and exports it). `fresh_postgres_database` creates one with a random name and drops it afterwards,
closing any connection a killed bot left behind; `plain_url` turns a driver URL into the form a user writes in
DATABASE_URL. The fixtures that use these live in tests/conftest.py and tests/e2e/conftest.py.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import URL, make_url

POSTGRES_ENV = "TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgres")
NO_POSTGRES = f"{POSTGRES_ENV} is not set: the PostgreSQL cases need a server (.ci/run starts one and exports it)"


def fresh_postgres_database(server: str) -> Iterator[str]:
    """Create a database on `server`, yield its postgresql+asyncpg:// URL, drop it (WITH FORCE) afterwards."""
    admin = make_url(server).set(drivername="postgresql")
    name = f"hbc_test_{secrets.token_hex(6)}"
    _on_own_loop(_execute, admin, f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        _on_own_loop(_execute, admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def plain_url(database_url: str) -> str:
    """sqlite+aiosqlite:// → sqlite://, postgresql+asyncpg:// → postgresql://, as a user writes DATABASE_URL."""
    return database_url.replace("sqlite+aiosqlite://", "sqlite://", 1).replace("postgresql+asyncpg://",
                                                                               "postgresql://", 1)


async def _execute(admin: URL, statement: str) -> None:
    import asyncpg

    try:
        connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    except (OSError, asyncpg.PostgresError) as exc:
        shown = admin.render_as_string(hide_password=True)
        raise RuntimeError(f"{POSTGRES_ENV}={shown}: cannot connect to PostgreSQL: {exc}") from exc
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _on_own_loop(function, *args):
    """Run `function(*args)` (a coroutine function) on an event loop of its own in a worker thread, so it never
    touches the loop pytest-asyncio runs the test on."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, function(*args)).result()
