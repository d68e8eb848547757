"""Benchmark: a weekly broadcast of invitations to N trainees, end to end, against a rate-limited Bot API stand-in.

Everything on the path is the bot's own: a SQLite file migrated to the newest schema and seeded in bulk with one
team, its trainer and N active trainees, a schedule whose window opened a minute before the injected `now`, and
`Weekly.sweep(now)` taken from the application that `bot.build_application` assembles (so its TelegramNotifier
sends through PTB's ExtBot with AIORateLimiter exactly as bot.py configures it). The Bot API is a stand-in
process on 127.0.0.1 (bench/botapi_standin.py) that enforces 30 messages in any sliding second overall and one
per chat, answering 429 with retry_after past either. Measures messages delivered, the achieved rate (goal at
least 29/s), the 429s (goal 0), the time to finish and peak memory (the sweep's tracemalloc peak and the
process's RSS high-water mark). To try other set-ups, `--overall-max-rate`, `--overall-time-period` and
`--max-retries` replace bot.py's limiter arguments, `--db-dir` moves the SQLite file and `--sqlite-wal` opens
it with a write-ahead log. Bounded by `--timeout`; prints a table, then one JSON object with the same figures
as the last line.

    .venv/bin/python bench/broadcast.py [--trainees 10000] [--timeout SECONDS] [--sqlite-wal]
        [--overall-max-rate 1 --overall-time-period 0.033333] [--max-retries 3] [--no-tracemalloc]
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import logging
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import httpx
from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import Engine
from telegram.ext import AIORateLimiter

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bot import build_application, engine_services  # noqa: E402 — the path above makes the project importable
from config import Settings  # noqa: E402
from dialogs.weekly import parse_plan  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Assignment, Membership, Team, User  # noqa: E402
from storage.repository import Store  # noqa: E402
from storage.teams import TRAINEE, TRAINER  # noqa: E402
from storage.weekly import WeeklyStore  # noqa: E402

NOW = datetime(2026, 11, 30, 1, 1, tzinfo=UTC)  # Monday 09:01 in Asia/Shanghai: the window opened a minute ago
PLAN = ["mon", "09:00", "Asia/Shanghai"]  # 48 h window, reminders 24 h before it closes: only invitations now
TOKEN = "123456:BENCH-not-a-real-token"
TEAM_ID, TRAINER_ID, FIRST_TRAINEE_ID = 1, 1000, 10_000_000
GOAL_RATE = 29.0
LOG_PATTERNS = {  # what the bot logs, counted: PTB's limiter retries and give-ups, the sweep's own failures
    "ptb_retries": "Rate limit hit. Retrying",
    "ptb_gave_up": "Rate limit hit after maximum",
    "sweep_failures": "weekly sweep failed",
    "unreachable": "cannot be reached",
}


class Tally(logging.Handler):
    """Counts log records by the start of their message (see LOG_PATTERNS)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for key, prefix in LOG_PATTERNS.items():
            if message.startswith(prefix):
                self.counts[key] += 1


def sqlite_wal(dbapi_connection, _record) -> None:
    """A connect hook for --sqlite-wal: write-ahead log, fsync at checkpoints only (not at every commit)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def seed(url: str, trainees: int) -> None:
    """One team, its trainer and `trainees` active trainees in three bulk inserts; then its schedule."""
    store = Store(url)
    created = datetime(2026, 11, 1, tzinfo=UTC)

    def person(user_id: int, name: str, language: str) -> dict:
        return {"id": user_id, "first_name": name, "username": None, "language": language, "active": True,
                "created_at": created, "updated_at": created}

    ids = range(FIRST_TRAINEE_ID, FIRST_TRAINEE_ID + trainees)
    async with store.engine.begin() as conn:
        await conn.execute(insert(Team).values(id=TEAM_ID, name="Bench", pass_mark=70, leaderboard=False,
                                               invite_code="BENCHJOIN", created_by=TRAINER_ID, created_at=created))
        await conn.execute(insert(User), [person(TRAINER_ID, "Trainer", "en")]
                           + [person(uid, f"Trainee {uid}", "zh" if uid % 2 else "en") for uid in ids])
        await conn.execute(insert(Membership), [{"team_id": TEAM_ID, "user_id": TRAINER_ID, "role": TRAINER,
                                                 "joined_at": created}]
                           + [{"team_id": TEAM_ID, "user_id": uid, "role": TRAINEE, "joined_at": created}
                              for uid in ids])
    await WeeklyStore(store).set_schedule(TEAM_ID, parse_plan(PLAN))
    await store.close()


async def invited_in_db(url: str) -> int:
    store = Store(url)
    async with store.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Assignment)
                                     .where(Assignment.invited_at.is_not(None)))
    await store.close()
    return int(count or 0)


async def start_standin(timeout: float) -> tuple[asyncio.subprocess.Process, int]:
    """The stand-in process; it stops when its stdin closes or after `timeout` seconds."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(BENCH / "botapi_standin.py"), "--timeout", str(timeout),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().split()
    if len(line) != 2 or line[0] != "PORT":
        process.kill()
        raise RuntimeError(f"the Bot API stand-in did not start: {line!r}")
    return process, int(line[1])


async def stop_standin(process: asyncio.subprocess.Process) -> None:
    process.stdin.close()
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()


def cpu_seconds() -> float:
    """User plus system CPU time of this process (the bot side; the stand-in runs in its own process)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def limiter_patch(overrides: dict[str, float]):
    """bot.py's AIORateLimiter with some of its arguments replaced, for the whole of build_application."""

    class Tuned(AIORateLimiter):
        def __init__(self, **kwargs) -> None:
            super().__init__(**{**kwargs, **overrides})

    return mock.patch("telegram.ext.AIORateLimiter", Tuned)


def limiter_figures(limiter: AIORateLimiter) -> dict:
    """The limiter's effective arguments, read (never changed) from its private fields to report what runs."""
    base = limiter._base_limiter
    return {"overall_max_rate": base.max_rate if base else 0, "overall_time_period": base.time_period if base else 0,
            "max_retries": limiter._max_retries}


async def measure(trainees: int, timeout: float, overrides: dict[str, float], trace: bool, db_dir: str | None,
                  wal: bool) -> dict:
    tally = Tally()
    for name in ("telegram.ext.AIORateLimiter", "channels.weekly", "channels.telegram.weekly"):
        logging.getLogger(name).setLevel(logging.INFO)
        logging.getLogger(name).addHandler(tally)
    services = engine_services()
    standin, port = await start_standin(timeout + 120)
    try:
        with tempfile.TemporaryDirectory(dir=db_dir) as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'broadcast.db'}"
            await asyncio.to_thread(upgrade, url)
            started = time.perf_counter()
            await seed(url, trainees)
            seed_seconds = time.perf_counter() - started
            settings = Settings(_env_file=None, telegram_bot_token=TOKEN, database_url=url,
                                telegram_api_url=f"http://127.0.0.1:{port}")
            if overrides:
                with limiter_patch(overrides):
                    application = build_application(settings, services)
            else:
                application = build_application(settings, services)
            await application.initialize()
            weekly = application.bot_data.weekly
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            load_before, cpu_before = os.getloadavg()[0], cpu_seconds()
            if trace:
                tracemalloc.start()
            timed_out, sent = False, {}
            started = time.perf_counter()
            try:
                sent = await asyncio.wait_for(weekly.sweep(NOW), timeout)
            except TimeoutError:
                timed_out = True
            seconds = time.perf_counter() - started
            traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
            tracemalloc.stop()
            rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            cpu, load_after = cpu_seconds() - cpu_before, os.getloadavg()[0]
            limiter = limiter_figures(application.bot.rate_limiter)
            await application.shutdown()
            await application.bot_data.coach.store.close()
            invited = await invited_in_db(url)
        async with httpx.AsyncClient() as client:
            server = (await client.get(f"http://127.0.0.1:{port}/_stats", timeout=30)).json()
    finally:
        await stop_standin(standin)
    delivered = server["accepted"]
    rate = delivered / seconds if seconds else 0.0
    result = {
        "trainees": trainees, "delivered": delivered, "invited_in_db": invited,
        "sweep_invitations": sent.get("invitations", 0), "rate_per_s": round(rate, 2),
        "http_429": server["rejected_429"], "seconds": round(seconds, 2),
        "tracemalloc_peak_mib": round(traced_peak, 1) if traced_peak is not None else None,
        "rss_peak_mib": round(rss_peak, 1), "rss_before_sweep_mib": round(rss_before, 1),
        "seed_seconds": round(seed_seconds, 2), "timed_out": timed_out,
        "cpu_ms_per_message": round(1000 * cpu / max(delivered, 1), 2),
        "machine": {"cpus": os.cpu_count(), "load_1min_before": round(load_before, 2),
                    "load_1min_after": round(load_after, 2)},
        "limiter": {**limiter, "source": "bot.py with overrides" if overrides else "bot.py"},
        "database": {"folder": db_dir or tempfile.gettempdir(), "journal": "WAL, synchronous=NORMAL" if wal
                     else "SQLite default (rollback journal, synchronous=FULL)"},
        "server": {key: server[key] for key in ("rejected_overall", "rejected_per_chat", "max_in_any_1s_window",
                                                "server_rate_per_s", "first_to_last_s", "calls")},
        "first_seconds": server["per_second"][:8],
        "rate_by_minute": [round(sum(chunk) / len(chunk), 1) for chunk in
                           (server["per_second"][i:i + 60] for i in range(0, len(server["per_second"]), 60))],
        "first_429s_at_s": [r["at_s"] for r in server["rejections"][:8]],
        "ptb_retries": tally.counts["ptb_retries"], "ptb_gave_up": tally.counts["ptb_gave_up"],
        "sweep_failures": tally.counts["sweep_failures"], "unreachable": tally.counts["unreachable"],
    }
    result["goals_met"] = (delivered == trainees and rate >= GOAL_RATE and server["rejected_429"] == 0
                           and not timed_out)
    return result


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def print_table(r: dict) -> None:
    limiter = r["limiter"]
    print(f"broadcast of {r['trainees']} invitations · AIORateLimiter(overall_max_rate={limiter['overall_max_rate']},"
          f" overall_time_period={limiter['overall_time_period']}, max_retries={limiter['max_retries']})"
          f" from {limiter['source']}; SQLite in {r['database']['folder']}, {r['database']['journal']}")
    rows = [
        ("messages delivered", r["delivered"], r["trainees"], r["delivered"] == r["trainees"]),
        ("achieved rate, msg/s", r["rate_per_s"], f">= {GOAL_RATE:g}",  # a rate counts only if all went out
         r["rate_per_s"] >= GOAL_RATE and r["delivered"] == r["trainees"]),
        ("HTTP 429 answers", r["http_429"], 0, r["http_429"] == 0),
        ("time to finish, s", r["seconds"], "", None),
        ("peak memory (tracemalloc), MiB", r["tracemalloc_peak_mib"], "", None),
        ("peak memory (RSS high-water), MiB", r["rss_peak_mib"], "", None),
    ]
    print(f"{'figure':<36}{'value':>12}{'goal':>10}  verdict")
    for name, value, goal, ok in rows:
        print(f"{name:<36}{value!s:>12}{goal!s:>10}  {'' if ok is None else verdict(ok)}")
    server = r["server"]
    print(f"stand-in: most in any 1 s window {server['max_in_any_1s_window']}, 429s overall/per chat "
          f"{server['rejected_overall']}/{server['rejected_per_chat']}, first-to-last {server['first_to_last_s']} s "
          f"({server['server_rate_per_s']}/s)")
    print(f"messages in each of the first seconds {r['first_seconds']}; first 429s at {r['first_429s_at_s']} s")
    print(f"messages a second, minute by minute: {r['rate_by_minute']}")
    print(f"bot side: PTB retries {r['ptb_retries']}, gave up {r['ptb_gave_up']}, sweep failures "
          f"{r['sweep_failures']}, invited in db {r['invited_in_db']}, sweep counted {r['sweep_invitations']}; "
          f"RSS before sweep {r['rss_before_sweep_mib']} MiB; seeding {r['seed_seconds']} s")
    machine = r["machine"]
    print(f"bot-side CPU {r['cpu_ms_per_message']} ms a message; machine: {machine['cpus']} CPUs, 1-min load "
          f"{machine['load_1min_before']} before the sweep and {machine['load_1min_after']} after"
          f"{'; TIMED OUT' if r['timed_out'] else ''}; all goals {verdict(r['goals_met'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainees", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, help="hard limit for the sweep in seconds (default 120 + N/10)")
    parser.add_argument("--overall-max-rate", type=float, help="replace bot.py's AIORateLimiter overall_max_rate")
    parser.add_argument("--overall-time-period", type=float, help="replace bot.py's overall_time_period")
    parser.add_argument("--max-retries", type=int, help="replace bot.py's max_retries")
    parser.add_argument("--db-dir", help="where the SQLite file lives (default: the system's temporary folder)")
    parser.add_argument("--sqlite-wal", action="store_true",
                        help="open every SQLite connection with journal_mode=WAL and synchronous=NORMAL")
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip tracemalloc (it slows Python down)")
    args = parser.parse_args()
    if args.trainees < 1:
        parser.error("--trainees must be at least 1")
    timeout = args.timeout or 120 + args.trainees / 10
    faulthandler.dump_traceback_later(timeout + 300, exit=True)  # the last resort if anything hangs
    overrides = {key: value for key, value in (("overall_max_rate", args.overall_max_rate),
                                               ("overall_time_period", args.overall_time_period),
                                               ("max_retries", args.max_retries)) if value is not None}
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # the INFO records counted by Tally stay off stderr
        handler.setLevel(logging.WARNING)
    if args.sqlite_wal:
        event.listen(Engine, "connect", sqlite_wal)
    result = asyncio.run(measure(args.trainees, timeout, overrides, not args.no_tracemalloc, args.db_dir,
                                 args.sqlite_wal))
    faulthandler.cancel_dump_traceback_later()
    print_table(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
