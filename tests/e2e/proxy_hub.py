"""The one lock of the compat proxy, and the condition every bounded wait in the proxy sleeps on.

The proxy's parts (call recorder, update queue, message and file stores) share this re-entrant lock so
that their state changes together, and share the condition so that one `notify_all` wakes every waiter:
a recorded call, a changed chat, a new getUpdates or a user's message (`wake`, counted in `wakeups`)
each wake all of them, and `stop` makes every wait return at once when the proxy closes. `wait` is the
bounded "sleep until ready, timed out or stopping" loop the waits are built on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Hub:
    """The shared lock and condition, the `stopping` flag and the count of user-side wake-ups."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.stopping = False
        self.wakeups = 0

    def stop(self) -> None:
        """Mark the proxy as closing and wake every waiter."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()

    def wake(self) -> None:
        """Tell waiting long-polls that the emulator may hold new updates."""
        with self.cond:
            self.wakeups += 1
            self.cond.notify_all()

    def notify(self) -> None:
        """Wake every waiter so it re-checks what it waits for (the caller changed shared state)."""
        with self.cond:
            self.cond.notify_all()

    def wait(self, check: Callable[[], T], timeout: float) -> T:
        """Sleep until `check()` (run under the lock) is truthy, `timeout` seconds pass or the proxy stops;
        returns what `check()` returned last."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = check()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stopping:
                    return value
                self.cond.wait(remaining)
