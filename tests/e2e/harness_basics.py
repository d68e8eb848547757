"""Basics every part of the e2e harness shares: where things are, free ports, bounded waits, log tails.

`REPO_ROOT` and `E2E_DIR` locate the project and this folder, `HOST` and `free_port` the loopback sockets
the emulator and proxy listen on, `DEFAULT_WAIT` the default bound of every wait. `wait_until` polls a
condition until it holds or fails with an assertion whose message says what was waited for (the harness
never sleeps a fixed time), and `tail` and `listing` shape the diagnostics such failures carry.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

REPO_ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"
DEFAULT_WAIT = 10.0
T = TypeVar("T")


def free_port(host: str = HOST) -> int:
    """A TCP port that was free a moment ago (the caller should bind it soon, and retry on a clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], T], timeout: float, message: str | Callable[[], str],
               interval: float = 0.02) -> T:
    """Poll `predicate` until it returns something truthy (returned) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(min(interval, remaining))


def tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log file (or a note that there is none)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def listing(items: Iterable[object]) -> str:
    """One indented line per item, or "(none)"."""
    return "\n".join(f"  {item}" for item in items) or "  (none)"
