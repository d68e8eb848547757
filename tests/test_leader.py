"""The job lock (storage/leader.py): exactly one worker runs the scheduled jobs, another takes over when it dies.

On SQLite the lock is always held. Against a real PostgreSQL server (a fresh database of the test's own on the
server TEST_POSTGRES_URL names — tests/databases.py; CI exports it, and these cases skip without it): two locks on
one key — one holds it, the other does not until it is released;
a holder whose session the server ends finds out at its next refresh and another takes over; and two worker
processes — the holder is killed with SIGKILL and the other takes the lock. Every test uses a key of its own,
so nothing else on the same database interferes.
"""

from __future__ import annotations

import queue
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from storage.leader import JobLock

ROOT = Path(__file__).resolve().parent.parent
on_postgres = pytest.mark.parametrize("database_backend", ["postgres"], indirect=True)
WORKER = """
import asyncio, sys
from storage.leader import JobLock

async def main(url, key):
    lock, said = JobLock(url, key=key), None
    while True:
        held = await lock.refresh()
        if held != said:
            print("LEADER" if held else "STANDBY", flush=True)
            said = held
        await asyncio.sleep(0.05)  # the worker's retry period; the test itself never sleeps

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


@pytest.fixture
def key() -> int:
    return secrets.randbits(62)


async def lock_holders(url: str, key: int) -> int:
    """How many sessions hold advisory lock `key` right now, as the server's pg_locks says."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :high AND objid = :low AND objsubid = 1"),
                {"high": key >> 32, "low": key & 0xFFFFFFFF}))
    finally:
        await engine.dispose()


async def test_sqlite_lock_is_always_held(tmp_path):
    lock = JobLock(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    assert lock.held and not lock.exclusive
    assert await lock.refresh() is True
    await lock.release()
    assert lock.held


async def test_an_unreachable_server_means_not_held_and_no_exception():
    pytest.importorskip("asyncpg", reason="the PostgreSQL driver asyncpg is not installed")
    import socket

    with socket.socket() as sock:  # a port nobody listens on: connections are refused at once
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    lock = JobLock(f"postgresql+asyncpg://nobody@127.0.0.1:{port}/none", timeout=5.0)
    assert await lock.refresh() is False and not lock.held
    await lock.release()


@on_postgres
async def test_one_of_two_holds_the_lock_until_it_releases(blank_database_url, key):
    url = blank_database_url
    first, second = JobLock(url, key=key), JobLock(url, key=key)
    try:
        assert await first.refresh() is True
        assert await second.refresh() is False
        assert await first.refresh() is True  # the holder keeps it
        assert await lock_holders(url, key) == 1
        await first.release()
        assert not first.held and await lock_holders(url, key) == 0
        assert await second.refresh() is True
        assert await lock_holders(url, key) == 1
    finally:
        await first.release()
        await second.release()


@on_postgres
async def test_a_holder_whose_session_ends_finds_out_and_another_takes_over(blank_database_url, key):
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    url = blank_database_url
    holder, standby = JobLock(url, key=key), JobLock(url, key=key)
    admin = create_async_engine(url)
    try:
        assert await holder.refresh() is True and await standby.refresh() is False
        async with admin.connect() as connection:
            ended = await connection.scalar(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :high AND objid = :low"), {"high": key >> 32, "low": key & 0xFFFFFFFF})
        assert ended == 1
        assert await holder.refresh() is False and not holder.held
        assert await standby.refresh() is True
        assert await holder.refresh() is False  # the old holder stands by now
    finally:
        await holder.release()
        await standby.release()
        await admin.dispose()


class Worker:
    """A worker process that refreshes the lock in a loop and prints LEADER/STANDBY when that changes."""

    def __init__(self, url: str, key: int) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", WORKER, url, str(key)], cwd=ROOT,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def next_line(self, timeout: float = 15.0) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"worker pid {self.process.pid} said nothing within {timeout}s") from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.process.stdout.close()


@on_postgres
async def test_two_worker_processes_the_holder_is_killed_and_the_other_takes_over(blank_database_url, key):
    url = blank_database_url
    first = Worker(url, key)
    second = None
    try:
        assert first.next_line() == "LEADER"
        second = Worker(url, key)
        assert second.next_line() == "STANDBY"
        assert await lock_holders(url, key) == 1
        first.process.send_signal(signal.SIGKILL)
        assert first.process.wait(timeout=10) == -signal.SIGKILL
        assert second.next_line() == "LEADER"
        assert await lock_holders(url, key) == 1
    finally:
        first.stop()
        if second is not None:
            second.stop()
