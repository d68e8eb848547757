"""Read the bot's database from an end-to-end test: SQLite through sqlite3, PostgreSQL through asyncpg.

The bot process owns its database; tests only read it, with plain SQL, to check what the user cannot
see (nothing lost, nothing doubled). `$1`-style parameters are written as `?` and converted.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3


def rows(database_url: str, sql: str, *params) -> list[tuple]:
    if database_url.startswith("sqlite"):
        path = re.sub(r"^sqlite(\+aiosqlite)?:///", "", database_url)
        connection = sqlite3.connect(path)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()
    return asyncio.run(_postgres_rows(database_url, sql, params))


async def _postgres_rows(database_url: str, sql: str, params: tuple) -> list[tuple]:
    import asyncpg

    numbered, count = sql, 0
    while "?" in numbered:
        count += 1
        numbered = numbered.replace("?", f"${count}", 1)
    url = re.sub(r"^postgresql\+asyncpg://", "postgresql://", database_url)
    connection = await asyncpg.connect(url)
    try:
        return [tuple(record) for record in await connection.fetch(numbered, *params)]
    finally:
        await connection.close()
