"""Benchmark: the cost of processing one trainee reply, as a ratio to a bare database write, side by side.

Measures, in one run on one SQLite file: (a) the baseline — one bare transaction that updates a drill row
and inserts one exchange; (b) the engine alone — classify, move the state machine, pick the line;
(c) the whole step the bot runs per message — load the open drill, the engine, save state and exchanges.
Prints a table, then one JSON object with the same figures as the last line.

    .venv/bin/python bench/reply_cost.py [--replies 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import engine_services  # noqa: E402 — the path above makes the project importable
from channels.coach import Coach  # noqa: E402
from dialogs.hot_button import HotButtonDrill  # noqa: E402
from dialogs.i18n import Translator  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.repository import NewExchange, Store  # noqa: E402

REPLIES = [
    "我们先在一个站点并行试点，老系统保留，出了任何问题由我们兜底负责。",
    "Three utilities your size have run it for two years without a single outage.",
    "合同里写明故障四小时响应、二十四小时到场，达不到按天赔付。",
    "Your team did the hard work on the last rollout, and everyone in the region noticed.",
    "您看下周二能不能请运检部一起，把试点站点定下来？",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(count: int) -> dict:
    services, t = engine_services(), Translator()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        store = Store(url)
        coach = Coach(store, services, t, early_window=3)
        await store.upsert_user(1, "Bench", None, "zh")
        baseline, engine, step = [], [], []
        row = None
        for index in range(count):
            text = REPLIES[index % len(REPLIES)]
            if row is None or index % 4 == 0:  # at most four replies a drill, so every step is mid-drill
                if row is not None:
                    await coach.end(1)
                drill_id = (await coach.start(1, "zh", "fatalist", "beginner")).drill_id
                row = await store.open_drill(1)
            started = time.perf_counter()
            await store.save_step(drill_id, {"kind": row.kind, "state": row.state, "data": row.data},
                                  [NewExchange("coach", "baseline")], finished=False)
            baseline.append(time.perf_counter() - started)

            drill = HotButtonDrill.restore(services, {"state": row.state, "data": row.data})
            started = time.perf_counter()
            drill.reply(text, t)
            engine.append(time.perf_counter() - started)

            started = time.perf_counter()
            await coach.reply(1, text)
            step.append(time.perf_counter() - started)
            row = await store.open_drill(1)
        await store.close()
    ms = 1000.0

    def figures(values: list[float]) -> dict:
        return {"p50_ms": round(statistics.median(values) * ms, 3), "p95_ms": round(percentile(values, 0.95) * ms, 3),
                "mean_ms": round(statistics.fmean(values) * ms, 3)}

    base = statistics.median(baseline)
    return {"replies": count, "baseline_db_write": figures(baseline), "engine_only": figures(engine),
            "whole_step": figures(step), "engine_ratio_to_baseline": round(statistics.median(engine) / base, 2),
            "step_ratio_to_baseline": round(statistics.median(step) / base, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=300)
    result = asyncio.run(measure(parser.parse_args().replies))
    print(f"{'what':<28}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for key in ("baseline_db_write", "engine_only", "whole_step"):
        f = result[key]
        print(f"{key:<28}{f['p50_ms']:>10}{f['p95_ms']:>10}{f['mean_ms']:>10}")
    print(f"engine / baseline: {result['engine_ratio_to_baseline']}x   "
          f"whole step / baseline: {result['step_ratio_to_baseline']}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
