"""Benchmark: processing time, messages per second and CPU per message of the whole bot, beside a bare PTB echo bot.

Simulated trainees play whole hot-button drills (`/drill PERSONA LEVEL`, then the scripted replies of
tests/scripts, `/end` if the script runs out before the debrief) through the real Application that
`bot.build_application` assembles, on a real database (a SQLite file in a temp dir by default, or
`--database-url postgresql://...`), polling a Bot API stand-in on 127.0.0.1 (bench/standin.py). Each
trainee waits for the bot's answer, thinks for an exponentially distributed time (mean `--think`, 5 s),
and replies. The bare echo bot (tests/e2e/echo_bot.py) gets the same trainees sending the same texts in
the same run. Each bot is its own process (this file with `--serve`), so its CPU time is its own. Processing
time is measured inside that process: from the moment the polling loop hands the update to the
Application's queue until `Application.process_update` returns, every reply sent and answered; queueing
behind earlier updates counts. Two loads: `--trainees` (100) for `--seconds`, the goal p95 < 30 ms and CPU
per message < 2x the echo bot's; then saturation, steps of `--rates` messages per second (trainees = rate x
think) for `--step-seconds` each until p95 passes 200 ms. Bounded by `--timeout`; prints a table, then one
JSON object with the same figures as the last line.

    .venv/bin/python bench/throughput.py [--trainees 100 --seconds 60 --step-seconds 20 --rates 5,10,...]
    .venv/bin/python bench/throughput.py --quick            # 10 s load, 6 s steps
    .venv/bin/python bench/throughput.py --database-url postgresql://user:pass@127.0.0.1:5432/db
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from standin import BotApiStandIn, Sent, machine  # noqa: E402 — the paths above make the project importable

SCRIPTS = ROOT / "tests" / "scripts"
ECHO_BOT = ROOT / "tests" / "e2e" / "echo_bot.py"
PERSONAS = ("fatalist", "aggressive", "deliberate", "relational", "caring")
LEVELS = ("beginner", "intermediate", "advanced")
DRAIN_USER = 1
REPLY_TIMEOUT = 60.0
READY_TIMEOUT = 60.0
GOAL_P95_MS, GOAL_CPU_RATIO, SATURATION_P95_MS = 30.0, 2.0, 200.0


# -- the bot process (--serve) ------------------------------------------------------------------------
async def serve(kind: str, token: str, api_url: str, database_url: str, max_seconds: float) -> None:
    """Run one bot against the stand-in; answer each `mark` on stdin with a JSON line: the time, the CPU time,
    the count and the (queued, started, finished) times of the updates processed since the last mark."""
    from telegram import Update

    if kind == "coach":
        from bot import build_application, setup_logging
        from config import load_settings

        settings = load_settings(telegram_bot_token=token, telegram_api_url=api_url, database_url=database_url)
        setup_logging(settings)
        application = build_application(settings)
    else:
        sys.path.insert(0, str(ECHO_BOT.parent))
        from echo_bot import build_application as build_echo

        application = build_echo(token, api_url)

    records: list[tuple[float, float, float]] = []  # (queued, started, finished), time.monotonic()
    queued: dict[int, float] = {}

    class TimedApplication(type(application)):  # what ApplicationBuilder.application_class would give
        __slots__ = ()

        async def process_update(self, update: object) -> None:
            started = time.monotonic()
            try:
                await super().process_update(update)
            finally:
                key = getattr(update, "update_id", None)
                records.append((queued.pop(key, started), started, time.monotonic()))

    application.__class__ = TimedApplication
    put = application.update_queue.put

    async def stamped_put(update: object) -> None:
        queued[getattr(update, "update_id", None)] = time.monotonic()
        await put(update)

    application.update_queue.put = stamped_put

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
    await application.start()
    deadline, reported = loop.time() + max_seconds, 0
    try:
        while (remaining := deadline - loop.time()) > 0:
            try:
                command = (await asyncio.wait_for(stdin.readline(), remaining)).decode().strip()
            except TimeoutError:
                break
            if command == "mark":
                count, fresh = len(records), records[reported:]
                reported = count
                print(json.dumps({"t": time.monotonic(), "cpu": time.process_time(), "n": count, "records": fresh}),
                      flush=True)
            else:  # "stop", or end of input: the driver is done or gone
                break
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)


# -- the driver -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mark:
    t: float
    cpu: float
    n: int


@dataclass
class Tally:
    sent: int = 0
    unanswered: int = 0
    drills_finished: int = 0


class BotChild:
    """One bot process (`--serve KIND`) polling the stand-in with its own token."""

    def __init__(self, kind: str, token: str, process: asyncio.subprocess.Process, log_path: Path) -> None:
        self.kind, self.token, self.process, self.log_path = kind, token, process, log_path
        self.records: list[tuple[float, float, float]] = []

    @classmethod
    async def start(cls, kind: str, standin: BotApiStandIn, database_url: str, folder: Path,
                    max_seconds: float) -> BotChild:
        token = standin.new_token()
        log_path = folder / f"{kind}.log"
        with open(log_path, "wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--serve", kind, "--token", token, "--api-url", standin.url,
                "--database-url", database_url, "--max-seconds", str(max_seconds), cwd=ROOT,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log)
        child = cls(kind, token, process, log_path)
        ready = asyncio.ensure_future(standin.first_poll(token, READY_TIMEOUT))
        exited = asyncio.ensure_future(process.wait())
        await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done() or ready.exception() is not None:
            ready.cancel()
            child.kill()
            raise RuntimeError(f"the {kind} bot did not poll getUpdates within {READY_TIMEOUT}s\n{child.log_tail()}")
        exited.cancel()
        return child

    async def mark(self) -> Mark:
        """The bot's clock, CPU time and count now; collects the records of the updates processed since."""
        self.process.stdin.write(b"mark\n")
        line = await asyncio.wait_for(self.process.stdout.readline(), REPLY_TIMEOUT)
        if not line:
            raise RuntimeError(f"the {self.kind} bot exited\n{self.log_tail()}")
        reply = json.loads(line)
        self.records.extend(tuple(r) for r in reply.pop("records"))
        return Mark(**reply)

    async def stop(self) -> None:
        self.process.stdin.write(b"stop\n")
        self.process.stdin.close()
        code = await asyncio.wait_for(self.process.wait(), 60.0)
        if code != 0:
            raise RuntimeError(f"the {self.kind} bot exited with {code}\n{self.log_tail()}")

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


def debrief_in(messages: list[Sent]) -> bool:
    """The debrief carries the "again" buttons: the drill is over."""
    return any(data.startswith("again|") for sent in messages for data in sent.callback_data())


async def trainee(standin: BotApiStandIn, token: str, user_id: int, rng: random.Random, think: float,
                  coach: bool, tally: Tally) -> None:
    """One trainee: whole drills (coach) or the same texts (echo), thinking ~`think` s between replies."""
    persona, lang = rng.choice(PERSONAS), rng.choice(("zh", "en"))
    level, kind = rng.choice(LEVELS), rng.choice(("good", "careless"))
    script = (SCRIPTS / f"{persona}_{lang}_{kind}.txt").read_text(encoding="utf-8").splitlines()
    inbox = standin.inbox(token, user_id)
    await asyncio.sleep(rng.expovariate(1 / think))
    drill_open, line = False, 0
    while True:
        if coach and not drill_open:
            text, drill_open, line = f"/drill {persona} {level}", True, 0
        elif coach and line >= len(script):
            text, drill_open = "/end", False
        else:
            text, line = script[line % len(script)], line + 1
        standin.push_text(token, user_id, text, lang)
        tally.sent += 1
        received: list[Sent] = []
        try:  # the coach's answer ends with a message carrying buttons (the customer's line, a debrief, a menu)
            while not received or (coach and not received[-1].callback_data()):
                received.append(await asyncio.wait_for(inbox.get(), REPLY_TIMEOUT))
        except TimeoutError:
            tally.unanswered += 1
        if coach and debrief_in(received):
            drill_open = False
            tally.drills_finished += 1
        await asyncio.sleep(rng.expovariate(1 / think))


async def drain(standin: BotApiStandIn, token: str) -> None:
    """Updates are processed in order: once a last one is answered, every earlier one has been."""
    inbox = standin.inbox(token, DRAIN_USER)
    standin.push_text(token, DRAIN_USER, "drain")
    await asyncio.wait_for(inbox.get(), 300.0)
    standin.forget(token, DRAIN_USER)


async def load(standin: BotApiStandIn, child: BotChild, *, trainees: int, think: float, warmup: float,
               seconds: float, first_user: int, seed: int) -> tuple[Mark, Mark, Tally, float]:
    """Run `trainees` for warmup + seconds; the marks bound the measured window. Also the driver's CPU share."""
    tally, rng = Tally(), random.Random(seed)
    tasks = [asyncio.create_task(trainee(standin, child.token, first_user + i, random.Random(rng.random()), think,
                                         child.kind == "coach", tally)) for i in range(trainees)]
    await asyncio.sleep(warmup)
    begin, driver_cpu = await child.mark(), time.process_time()
    await asyncio.sleep(seconds)
    end, driver_cpu = await child.mark(), time.process_time() - driver_cpu
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for user in range(first_user, first_user + trainees):
        standin.forget(child.token, user)
    await drain(standin, child.token)
    await child.mark()  # collects the records of the window's last updates
    return begin, end, tally, driver_cpu / (end.t - begin.t)


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def figures(records: list[tuple[float, float, float]], begin: Mark, end: Mark, tally: Tally,
            driver_share: float) -> dict:
    inside = [r for r in records if begin.t <= r[0] < end.t]
    latency = sorted((r[2] - r[0]) * 1000 for r in inside)
    service = sorted((r[2] - r[1]) * 1000 for r in inside)
    processed = max(1, end.n - begin.n)
    return {"messages": len(inside), "msgs_per_s": round(processed / (end.t - begin.t), 1),
            "p50_ms": round(percentile(latency, 0.5), 2), "p95_ms": round(percentile(latency, 0.95), 2),
            "p99_ms": round(percentile(latency, 0.99), 2), "max_ms": round(latency[-1], 2) if latency else None,
            "service_p50_ms": round(percentile(service, 0.5), 2),
            "service_mean_ms": round(statistics.fmean(service), 2) if service else None,
            "cpu_ms_per_msg": round((end.cpu - begin.cpu) * 1000 / processed, 3),
            "cpu_share": round((end.cpu - begin.cpu) / (end.t - begin.t), 2),
            "driver_cpu_share": round(driver_share, 2), "sent": tally.sent, "unanswered": tally.unanswered,
            "drills_finished": tally.drills_finished}


def crossing(steps: list[dict]) -> dict:
    """Messages per second at which p95 passes SATURATION_P95_MS, interpolated between the bracketing steps."""
    if not steps:
        return {"saturated": False, "msgs_per_s": None, "at_least_msgs_per_s": None}
    over = next((i for i, s in enumerate(steps) if s["p95_ms"] > SATURATION_P95_MS), None)
    if over is None:
        return {"saturated": False, "msgs_per_s": None, "at_least_msgs_per_s": max(s["msgs_per_s"] for s in steps)}
    if over == 0:
        return {"saturated": True, "msgs_per_s": None, "below_msgs_per_s": steps[0]["msgs_per_s"]}
    low, high = steps[over - 1], steps[over]
    share = (SATURATION_P95_MS - low["p95_ms"]) / (high["p95_ms"] - low["p95_ms"])
    rate = low["msgs_per_s"] + share * (high["msgs_per_s"] - low["msgs_per_s"])
    return {"saturated": True, "msgs_per_s": round(rate, 1), "last_under": low["msgs_per_s"],
            "first_over": high["msgs_per_s"]}


async def measure(args: argparse.Namespace) -> dict:
    from config import load_settings
    from storage.migrate import upgrade

    load_before = os.getloadavg()
    standin = await BotApiStandIn().start()
    children: list[BotChild] = []
    base_user = 10**9 * (1 + int(time.time()) % 1000)  # fresh users on a reused PostgreSQL database too
    common = {"think": args.think, "warmup": args.warmup}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-throughput-") as name:
            folder = Path(name)
            url = load_settings(database_url=args.database_url or f"sqlite:///{folder / 'bench.db'}").database_url
            await asyncio.to_thread(upgrade, url)
            result: dict = {"database": url.split("+")[0], "think_s": args.think, "trainees": args.trainees,
                            "seconds": args.seconds}
            for kind in ("echo", "coach"):  # the same trainees, seed and texts for both, one after the other
                child = await BotChild.start(kind, standin, url, folder, args.timeout)
                children.append(child)
                result[kind] = figures(child.records, *await load(
                    standin, child, trainees=args.trainees, seconds=args.seconds, first_user=base_user,
                    seed=args.seed, **common))
                if kind == "echo":
                    await child.stop()
            steps = []
            for number, rate in enumerate(args.rates, start=1):  # saturation, on the coach bot still running
                trainees = max(1, round(rate * args.think))
                step = await load(standin, child, trainees=trainees, seconds=args.step_seconds,
                                  first_user=base_user + number * 1_000_000, seed=args.seed + number, **common)
                steps.append({"offered_msgs_per_s": rate, "trainees": trainees, **figures(child.records, *step)})
                if steps[-1]["p95_ms"] > SATURATION_P95_MS or steps[-1]["unanswered"]:
                    break
            await child.stop()
    finally:
        for child in children:
            child.kill()
        await standin.close()
    result["machine"] = machine(load_before)
    result["cpu_ratio_to_echo"] = round(result["coach"]["cpu_ms_per_msg"] / result["echo"]["cpu_ms_per_msg"], 2)
    result["saturation"] = {"step_seconds": args.step_seconds, **crossing(steps), "steps": steps}
    result["goals"] = {"p95_under_30ms": result["coach"]["p95_ms"] < GOAL_P95_MS,
                       "cpu_ratio_under_2": result["cpu_ratio_to_echo"] < GOAL_CPU_RATIO}
    return result


def print_table(result: dict) -> None:
    columns = ("msgs_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms", "cpu_ms_per_msg", "cpu_share",
               "driver_cpu_share", "messages", "unanswered")
    heads = ("msg/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "cpu ms/msg", "bot cpu", "driver cpu", "measured",
             "lost")
    print(f"database: {result['database']}   trainees think {result['think_s']} s on average (exponential)   "
          f"machine: {result['machine']}")
    print(f"{'load':<34}" + "".join(f"{h:>11}" for h in heads))
    rows = [(f"echo bot, {result['trainees']} trainees", result["echo"]),
            (f"coach bot, {result['trainees']} trainees", result["coach"])]
    rows += [(f"coach, saturation {s['offered_msgs_per_s']}/s ({s['trainees']})", s)
             for s in result["saturation"]["steps"]]
    for label, row in rows:
        print(f"{label:<34}" + "".join(f"{row[c] if row[c] is not None else '-':>11}" for c in columns))
    goals, saturation = result["goals"], result["saturation"]
    print(f"coach p95 at {result['coach']['msgs_per_s']} msg/s: {result['coach']['p95_ms']} ms "
          f"(goal < {GOAL_P95_MS:g}: {'met' if goals['p95_under_30ms'] else 'MISSED'});  "
          f"CPU per message vs echo: {result['cpu_ratio_to_echo']}x "
          f"(goal < {GOAL_CPU_RATIO:g}: {'met' if goals['cpu_ratio_under_2'] else 'MISSED'})")
    if saturation["msgs_per_s"] is not None:
        print(f"saturation: p95 passes {SATURATION_P95_MS:g} ms at about {saturation['msgs_per_s']} msg/s "
              f"(between {saturation['last_under']} and {saturation['first_over']} msg/s)")
    elif not result["saturation"]["steps"]:
        pass
    elif saturation["saturated"]:
        print(f"saturation: p95 over {SATURATION_P95_MS:g} ms already at {saturation['below_msgs_per_s']} msg/s")
    else:
        print(f"saturation: p95 stayed under {SATURATION_P95_MS:g} ms up to {saturation['at_least_msgs_per_s']} "
              "msg/s (add higher --rates)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainees", type=int, default=100, help="concurrent trainees of the first load")
    parser.add_argument("--think", type=float, default=5.0, help="mean seconds between a trainee's replies")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds of the first load")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds before each measurement")
    parser.add_argument("--rates", default="5,10,15,20,30,40,60,80,120,160,200,300",
                        help="saturation steps, offered messages per second (empty: no saturation)")
    parser.add_argument("--step-seconds", type=float, default=20.0, help="measured seconds of each saturation step")
    parser.add_argument("--quick", action="store_true", help="short run: 10 s load, 6 s steps, 3 s warm-up")
    parser.add_argument("--database", choices=["sqlite"], default="sqlite",
                        help="a SQLite file in a temp dir (default); use --database-url for PostgreSQL")
    parser.add_argument("--database-url", help="e.g. postgresql://user:pass@127.0.0.1:5432/bench")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=1200.0, help="stop everything after this many seconds")
    parser.add_argument("--serve", choices=["coach", "echo"], help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--max-seconds", type=float, default=1200.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.token, args.api_url, args.database_url, args.max_seconds))
        return
    if args.quick:
        args.seconds, args.step_seconds, args.warmup = 10.0, 6.0, 3.0
    args.rates = [int(r) if r.strip().isdigit() else float(r) for r in args.rates.split(",") if r.strip()]
    result = asyncio.run(asyncio.wait_for(measure(args), args.timeout))
    print_table(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
