"""Benchmark: resident memory of the bot at start and with 10,000 open drills (goal under 250 MB).

Runs the real entry point, `python bot.py run`, as its own process against the Bot API stand-in on
127.0.0.1 (bench/standin.py) on a real database (a SQLite file in a temp dir, or `--database-url
postgresql://...`). It reads the process's RSS from /proc once the bot first polls getUpdates, then has
`--drills` trainees (10,000) each open a drill with `/drill PERSONA LEVEL` and, with `--replies N`, answer
N times, `--concurrency` trainees at a time, each waiting for the bot's answers. The first WARM_TRAINEES go
alone and answer at least once, so the classifier and its model are loaded (as in any bot that has scored a
reply) before the rest; RSS is read after them, at every tenth of the way and once all are answered. The
open drills are then counted in the database (they must all be there: a drill's state lives in the
database, not in the process).
Reports RSS at start, after the warm-up, at the end, its growth per 1,000 open drills after the
warm-up (the one-off loads) and the high-water mark (VmHWM). Bounded by `--timeout`; prints a table,
then one JSON object with the same figures as the last line.

    .venv/bin/python bench/memory.py [--drills 10000] [--replies 0] [--concurrency 100]
    .venv/bin/python bench/memory.py --drills 1000 --replies 1      # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from standin import BotApiStandIn, bot_environment, machine  # noqa: E402 — the paths above make the project importable

SCRIPTS = ROOT / "tests" / "scripts"
PERSONAS = ("fatalist", "aggressive", "deliberate", "relational", "caring")
LEVELS = ("beginner", "intermediate", "advanced")
GOAL_MB = 250.0
REPLY_TIMEOUT = 120.0
WARM_TRAINEES = 10
STOP_TIMEOUT = 60.0


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB (from /proc/PID/status)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)
    return fields


async def open_drill(standin: BotApiStandIn, token: str, user_id: int, replies: int, rng: random.Random) -> int:
    """One trainee opens a drill and answers `replies` times; returns how many answers never came."""
    persona, lang, level = rng.choice(PERSONAS), rng.choice(("zh", "en")), rng.choice(LEVELS)
    script = (SCRIPTS / f"{persona}_{lang}_good.txt").read_text(encoding="utf-8").splitlines()
    inbox, missing = standin.inbox(token, user_id), 0
    for text in [f"/drill {persona} {level}", *script[:replies]]:
        standin.push_text(token, user_id, text, lang)
        try:
            while not (await asyncio.wait_for(inbox.get(), REPLY_TIMEOUT)).callback_data():
                pass  # the answer ends with the customer's line, which carries the drill's buttons
        except TimeoutError:
            missing += 1
    standin.forget(token, user_id)
    return missing


async def count_open(database_url: str, first_user: int) -> int:
    from sqlalchemy import func, select
    from sqlalchemy.ext.asyncio import create_async_engine

    from storage.models import DrillSession

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.scalar(select(func.count()).select_from(DrillSession).where(
                DrillSession.ended_at.is_(None), DrillSession.user_id >= first_user))
    finally:
        await engine.dispose()


async def measure(args: argparse.Namespace) -> dict:
    from config import load_settings

    load_before = os.getloadavg()
    standin = await BotApiStandIn().start()
    process = None
    first_user = 10**9 * (1 + int(time.time()) % 1000)  # fresh users on a reused PostgreSQL database too
    try:
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as name:
            url = load_settings(database_url=args.database_url or f"sqlite:///{Path(name) / 'bench.db'}").database_url
            token = standin.new_token()
            with open(Path(name) / "bot.log", "wb") as log:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "bot.py", "run", cwd=ROOT, env=bot_environment(dict(os.environ), token,
                                                                                    standin.url, url),
                    stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
            await standin.first_poll(token, 120.0)
            at_start = memory_mb(process.pid)
            rng, gate, missing, done = random.Random(args.seed), asyncio.Semaphore(args.concurrency), 0, 0
            checkpoints = [{"drills": 0, "rss_mb": at_start["VmRSS"]}]
            started = time.monotonic()

            async def one(number: int) -> None:
                nonlocal missing, done
                async with gate:
                    replies = max(args.replies, 1 if number < WARM_TRAINEES else 0)
                    missing += await open_drill(standin, token, first_user + number, replies,
                                                random.Random(rng.random()))
                done += 1
                if done % max(1, args.drills // 10) == 0:
                    checkpoints.append({"drills": done, "rss_mb": memory_mb(process.pid)["VmRSS"]})

            warm = min(WARM_TRAINEES, args.drills)
            await asyncio.gather(*(one(number) for number in range(warm)))  # the one-off loads happen here
            after_warmup = {"drills": warm, "rss_mb": memory_mb(process.pid)["VmRSS"]}
            await asyncio.gather(*(one(number) for number in range(warm, args.drills)))
            seconds = time.monotonic() - started
            at_end = memory_mb(process.pid)
            opened = await count_open(url, first_user)
            process.terminate()
            try:
                code = await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                code = None  # reported as such; the finally below kills it
    finally:
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        await standin.close()
    growth = at_end["VmRSS"] - at_start["VmRSS"]
    checkpoints.sort(key=lambda c: c["drills"])
    steady = (at_end["VmRSS"] - after_warmup["rss_mb"]) * 1000 / max(1, args.drills - after_warmup["drills"])
    return {"database": url.split("+")[0], "drills": args.drills, "replies_per_drill": args.replies,
            "open_drills_in_database": opened, "unanswered": missing, "seconds": round(seconds, 1),
            "updates_per_s": round(args.drills * (1 + args.replies) / seconds, 1),
            "rss_start_mb": at_start["VmRSS"], "rss_end_mb": at_end["VmRSS"], "rss_peak_mb": at_end["VmHWM"],
            "growth_mb": round(growth, 1), "rss_after_warmup_mb": after_warmup["rss_mb"],
            "growth_mb_per_1000_drills_after_warmup": round(steady, 2),
            "bot_exit_code": code, "goal_mb": GOAL_MB, "goal_met": at_end["VmHWM"] < GOAL_MB,
            "machine": machine(load_before), "checkpoints": checkpoints}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drills", type=int, default=10_000, help="drills to open, one trainee each")
    parser.add_argument("--replies", type=int, default=0, help="replies each trainee sends after opening (0-5)")
    parser.add_argument("--concurrency", type=int, default=100, help="trainees talking to the bot at a time")
    parser.add_argument("--database", choices=["sqlite"], default="sqlite",
                        help="a SQLite file in a temp dir (default); use --database-url for PostgreSQL")
    parser.add_argument("--database-url", help="e.g. postgresql://user:pass@127.0.0.1:5432/bench")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=1800.0, help="stop everything after this many seconds")
    args = parser.parse_args()
    args.replies = max(0, min(5, args.replies))
    result = asyncio.run(asyncio.wait_for(measure(args), args.timeout))
    print(f"database: {result['database']}   {result['drills']} drills opened, {result['replies_per_drill']} "
          f"replies each, in {result['seconds']} s ({result['updates_per_s']} updates/s)")
    print(f"machine: {result['machine']}")
    print(f"{'open drills':>12}{'RSS MB':>10}")
    for point in result["checkpoints"]:
        print(f"{point['drills']:>12}{point['rss_mb']:>10}")
    print(f"RSS at start {result['rss_start_mb']} MB, with {result['open_drills_in_database']} open drills "
          f"{result['rss_end_mb']} MB (after the first {WARM_TRAINEES} replies {result['rss_after_warmup_mb']} MB, "
          f"then "
          f"+{result['growth_mb_per_1000_drills_after_warmup']} MB per 1,000 drills), peak "
          f"{result['rss_peak_mb']} MB; goal peak < {GOAL_MB:g} MB: {'met' if result['goal_met'] else 'MISSED'}; "
          f"unanswered: {result['unanswered']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
