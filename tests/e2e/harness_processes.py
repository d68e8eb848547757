"""The child processes of the e2e tests: the Bot API emulator (node) and the bot under test (python).

`EmulatorProcess` runs `node tests/e2e/emulator.js PORT` and waits for it to say READY (it exits when the
test process dies); `emulator_install_problem` says why it cannot run here. `BotProcess` runs a bot
(`python bot.py run` by default) in the repo root with the environment `bot_environment` builds (the
caller's, with the bot token, the proxy as TELEGRAM_API_URL and the test's database), counts it ready once
it long-polls getUpdates, stops it with SIGTERM (failing if it ignores it) or SIGKILL, restarts it, and
reads its recorded API calls back from the compat proxy; its `describe` (recent calls and log tail) is the
diagnostic every failed wait carries. Every process started here is stopped by the matching `stop`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from compat_proxy import ApiCall, CompatProxy
from harness_basics import DEFAULT_WAIT, E2E_DIR, HOST, REPO_ROOT, free_port, listing, tail, wait_until

EMULATOR_SCRIPT = E2E_DIR / "emulator.js"
EMULATOR_PACKAGE = REPO_ROOT / "node_modules" / "telegram-test-api"
ECHO_BOT = E2E_DIR / "echo_bot.py"
BOT_READY_TIMEOUT = 30.0
BOT_STOP_TIMEOUT = 15.0


def emulator_install_problem(package_dir: Path = EMULATOR_PACKAGE) -> str | None:
    """Why the emulator cannot run here (missing node or node_modules), or None when it can."""
    if shutil.which("node") is None:
        return "e2e tests need Node.js (node 20) on PATH to run the Bot API emulator telegram-test-api."
    if not (package_dir / "package.json").is_file():
        return (f"the Bot API emulator is not installed ({package_dir} is missing): "
                f"run `npm ci` in {REPO_ROOT} (package.json pins telegram-test-api 4.2.1), then rerun the tests.")
    return None


def stop_process(process: subprocess.Popen[bytes], *, kill: bool, timeout: float) -> tuple[int, bool]:
    """Stop a child; returns (exit code, whether it had to be killed after `timeout`)."""
    if process.poll() is not None:
        return process.returncode, False
    process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        return process.wait(timeout=timeout), False
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=timeout), True


class EmulatorProcess:
    """`node tests/e2e/emulator.js PORT` with its output in `log_path`; exits if the test process dies."""

    def __init__(self, log_path: Path, port: int | None = None) -> None:
        self.log_path = log_path
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> EmulatorProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["node", str(EMULATOR_SCRIPT), str(self.port), "--exit-on-stdin-close"],
                cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: "READY" in tail(self.log_path) or self.process.poll() is not None, timeout,
                       lambda: f"emulator did not start within {timeout}s; log:\n{tail(self.log_path)}")
        except AssertionError:
            self.stop()
            raise
        if self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"emulator exited at start on port {self.port}; log:\n{tail(self.log_path)}")
        return self

    def stop(self) -> int | None:
        if self.process is None:
            return None
        code, _ = stop_process(self.process, kill=False, timeout=10.0)
        if self.process.stdin:
            self.process.stdin.close()
        self.process = None
        return code


def bot_environment(token: str, api_url: str, database_url: str, extra: Mapping[str, str] | None = None,
                    base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a bot process: the caller's, less any TELEGRAM_*/DATABASE_URL, plus ours."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if not k.startswith("TELEGRAM_") and k != "DATABASE_URL"}
    env.update({"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_URL": api_url, "DATABASE_URL": database_url,
                "PYTHONUNBUFFERED": "1", "FLOOD_MESSAGES": "10000"})  # scripted users type faster than people
    env.update(extra or {})
    return env


class BotProcess:
    """A bot as a child process (`python <script> <args>` in the repo root), against the compat proxy."""

    def __init__(self, proxy: CompatProxy, token: str, env: Mapping[str, str], log_path: Path,
                 argv: Iterable[str] = ("bot.py", "run"), cwd: Path = REPO_ROOT) -> None:
        self.proxy = proxy
        self.token = token
        self.env = dict(env)
        self.log_path = log_path
        self.argv = [sys.executable, *argv]
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, wait_ready: bool = True, timeout: float = BOT_READY_TIMEOUT) -> BotProcess:
        """Start the process; with `wait_ready`, return once it polls getUpdates (fails if it exits)."""
        if self.running:
            raise AssertionError(f"bot {self.argv[1:]} is already running (pid {self.pid})")
        polls = self.proxy.poll_count(self.token)
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.argv[1:])} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT)
        if wait_ready:
            self.wait_ready(timeout, polls_before=polls)
        return self

    def wait_ready(self, timeout: float = BOT_READY_TIMEOUT, *, polls_before: int = 0) -> None:
        """Wait until the bot long-polls getUpdates; fail at once, with its log, if it exits."""
        wait_until(lambda: self.proxy.poll_count(self.token) > polls_before or not self.running, timeout,
                   lambda: f"bot did not poll getUpdates within {timeout}s\n{self.describe()}")
        if not self.running:
            raise AssertionError(f"bot exited during start-up\n{self.describe()}")

    def stop(self, *, kill: bool = False, timeout: float = BOT_STOP_TIMEOUT) -> int | None:
        """SIGTERM (or SIGKILL with `kill=True`) and wait; fails if SIGTERM did not stop it in time."""
        if self.process is None:
            return None
        code, forced = stop_process(self.process, kill=kill, timeout=timeout)
        if forced:
            raise AssertionError(f"bot ignored SIGTERM for {timeout}s and was killed\n{self.describe()}")
        return code

    def restart(self, *, kill: bool = False, env: Mapping[str, str] | None = None,
                wait_ready: bool = True) -> BotProcess:
        """Stop (as `stop`) and start again, optionally with extra environment variables."""
        self.stop(kill=kill)
        self.env.update(env or {})
        return self.start(wait_ready=wait_ready)

    def kill_quietly(self) -> None:
        """Teardown: make sure the process is gone, whatever state it is in."""
        if self.process is not None and self.process.poll() is None:
            stop_process(self.process, kill=False, timeout=5.0)

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process else None

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def calls(self, method: str | None = None, since: int = 0) -> list[ApiCall]:
        """This bot's recorded API calls (oldest first)."""
        return self.proxy.calls(self.token, method, since)

    def unanswered_callback_queries(self) -> list[dict[str, Any]]:
        return self.proxy.unanswered_callback_queries(self.token)

    def assert_callbacks_answered(self, timeout: float = 5.0) -> None:
        """Wait (bounded) until every callback query delivered to the bot has been answered."""
        wait_until(lambda: not self.unanswered_callback_queries(), timeout,
                   lambda: f"unanswered callback queries after {timeout}s: {self.unanswered_callback_queries()}"
                           f"\n{self.describe()}")

    def wait_call(self, method: str, predicate: Callable[[ApiCall], bool] | None = None,
                  timeout: float = DEFAULT_WAIT, since: int = 0) -> ApiCall:
        """The first recorded call of `method` (with `seq > since`) that satisfies `predicate`."""
        call = self.proxy.wait_for_call(
            lambda c: c.token == self.token and c.method == method and (predicate is None or predicate(c)),
            timeout, since)
        if call is None:
            raise AssertionError(f"no matching {method} call within {timeout}s\n{self.describe()}")
        return call

    def failed_calls(self) -> list[ApiCall]:
        """Calls the proxy or emulator refused (status >= 400) other than getUpdates conflicts."""
        return [c for c in self.calls() if c.status >= 400 and c.status != 409]

    def describe(self, calls: int = 15, log_lines: int = 40) -> str:
        recent = listing(c.brief() for c in self.calls()[-calls:])
        return (f"bot {' '.join(self.argv[1:])} pid={self.pid} exit={self.returncode}\n"
                f"last bot API calls:\n{recent}\nlog tail ({self.log_path}):\n{tail(self.log_path, log_lines)}")
