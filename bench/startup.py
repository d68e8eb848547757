"""Benchmark: start-up time of the bot, from spawning `python bot.py run` to its first getUpdates poll.

Each run spawns the real entry point as its own process with a fresh token, pointed at the Bot API stand-in
on 127.0.0.1 (bench/standin.py), and times (time.monotonic, both ends in this process) from just before the
spawn to the arrival of the bot's first getUpdates at the stand-in; the bot is then stopped with SIGTERM.
On the way the bot imports everything, reads its settings, runs the Alembic upgrade, loads personas, lexicon
and classifier, calls getMe and setMyCommands, registers its jobs from the database and drops any webhook.
Three cases, `--runs` times each: a new SQLite file (the migrations run from nothing), the same file again
(already at the newest schema), and the bare PTB echo bot (tests/e2e/echo_bot.py) as the floor. With
`--database-url postgresql://...` the first two cases use that database. Goal: under 3 s. Bounded by
`--timeout` per start; prints a table, then one JSON object with the same figures as the last line.

    .venv/bin/python bench/startup.py [--runs 5] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from standin import BotApiStandIn, bot_environment, machine  # noqa: E402 — the path above makes the stand-in importable

ECHO_BOT = ROOT / "tests" / "e2e" / "echo_bot.py"
GOAL_SECONDS = 3.0


async def start_once(standin: BotApiStandIn, argv: list[str], database_url: str, log_path: Path,
                     timeout: float) -> float:
    """Seconds from spawn to the first getUpdates; the process is stopped (SIGTERM, then SIGKILL) after."""
    token = standin.new_token()
    env = bot_environment(dict(os.environ), token, standin.url, database_url)
    with open(log_path, "ab") as log:
        spawned = time.monotonic()
        process = await asyncio.create_subprocess_exec(sys.executable, *argv, cwd=ROOT, env=env,
                                                       stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        polled = asyncio.ensure_future(standin.first_poll(token, timeout))
        exited = asyncio.ensure_future(process.wait())
        await asyncio.wait({polled, exited}, return_when=asyncio.FIRST_COMPLETED)
        exited.cancel()
        if not polled.done() or polled.exception() is not None:
            polled.cancel()
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(f"{' '.join(argv)} did not poll getUpdates within {timeout}s\n{tail}")
        return polled.result() - spawned
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 20.0)
            except TimeoutError:
                process.kill()
                await process.wait()


def summary(values: list[float]) -> dict:
    return {"runs": len(values), "median_s": round(statistics.median(values), 3), "min_s": round(min(values), 3),
            "max_s": round(max(values), 3), "all_s": [round(v, 3) for v in values]}


async def measure(runs: int, database_url: str | None, timeout: float) -> dict:
    load_before = os.getloadavg()
    standin = await BotApiStandIn().start()
    cases: dict[str, list[float]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as name:
            folder = Path(name)
            log = folder / "bots.log"
            fresh = [f"sqlite:///{folder / f'fresh{i}.db'}" for i in range(runs)]
            migrated = database_url or fresh[0]
            if database_url is None:
                cases["coach, new database"] = [await start_once(standin, ["bot.py", "run"], url, log, timeout)
                                                for url in fresh]
            else:  # the given database is migrated by the first start; every start is then measured again
                await start_once(standin, ["bot.py", "run"], migrated, log, timeout)
            cases["coach, migrated database"] = [await start_once(standin, ["bot.py", "run"], migrated, log,
                                                                  timeout) for _ in range(runs)]
            cases["bare PTB echo bot"] = [await start_once(standin, [str(ECHO_BOT)], migrated, log, timeout)
                                          for _ in range(runs)]
    finally:
        await standin.close()
    result = {"database": "postgresql" if database_url else "sqlite", "goal_s": GOAL_SECONDS,
              "cases": {case: summary(values) for case, values in cases.items()}, "machine": machine(load_before)}
    slowest = max(max(values) for case, values in cases.items() if case.startswith("coach"))
    result["goal_met"] = slowest < GOAL_SECONDS
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="starts per case")
    parser.add_argument("--database", choices=["sqlite"], default="sqlite",
                        help="new SQLite files in a temp dir (default); use --database-url for PostgreSQL")
    parser.add_argument("--database-url", help="e.g. postgresql://user:pass@127.0.0.1:5432/bench")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one start may take before failing")
    args = parser.parse_args()
    result = asyncio.run(measure(args.runs, args.database_url, args.timeout))
    print(f"database: {result['database']}   time from spawn to the first getUpdates poll   "
          f"machine: {result['machine']}")
    print(f"{'case':<28}{'median s':>10}{'min s':>10}{'max s':>10}{'runs':>6}")
    for case, figures in result["cases"].items():
        print(f"{case:<28}{figures['median_s']:>10}{figures['min_s']:>10}{figures['max_s']:>10}{figures['runs']:>6}")
    print(f"goal: every start under {GOAL_SECONDS:g} s: {'met' if result['goal_met'] else 'MISSED'}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
