"""The per-user flood limit: more than FLOOD_MESSAGES updates in FLOOD_SECONDS from one user get one polite reply.

`FloodLimiter` keeps, per user, the times of the updates it let through within the last window (a sliding
window, on an injected monotonic clock so tests need no sleeping). Past the limit the first update is answered
once with `robust.flood` (in a private chat, or as the alert of a pressed button) and that one and every later
update are dropped unread until the oldest admitted one leaves the window. `flood_guard` is the handler that
applies it before any other (bot.py puts the limiter in `bot_data.flood`). The counts live in this process only:
they are a brake on floods, not a record, so a restart or a second webhook worker starts them afresh.
"""

from __future__ import annotations

import collections
import enum
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

if TYPE_CHECKING:
    from channels.telegram.common import Context

DEFAULT_MESSAGES = 20
DEFAULT_SECONDS = 30
SWEEP_AT = 1024  # forget idle users once this many are tracked (and at twice the survivors after each sweep)


class Verdict(enum.Enum):
    ALLOW = "allow"  # process the update
    WARN = "warn"  # over the limit: answer once, politely, and drop it
    DROP = "drop"  # still over the limit and already told: drop it silently


@dataclass
class _Window:
    admitted: collections.deque[float] = field(default_factory=collections.deque)
    warned: bool = False


class FloodLimiter:
    """A sliding-window count of each user's admitted updates; `check(user_id)` gives the verdict of one more."""

    def __init__(self, max_messages: int = DEFAULT_MESSAGES, seconds: float = DEFAULT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_messages < 1 or seconds <= 0:
            raise ValueError(f"flood limit needs max_messages >= 1 and seconds > 0, got {max_messages}, {seconds}")
        self.max_messages, self.seconds, self.clock = max_messages, seconds, clock
        self._users: dict[int, _Window] = {}
        self._sweep_at = SWEEP_AT

    def check(self, user_id: int) -> Verdict:
        now = self.clock()
        window = self._users.get(user_id)
        if window is None:
            if len(self._users) >= self._sweep_at:
                self._sweep(now)
            window = self._users[user_id] = _Window()
        self._expire(window, now)
        if len(window.admitted) < self.max_messages:
            window.admitted.append(now)
            window.warned = False
            return Verdict.ALLOW
        if window.warned:
            return Verdict.DROP
        window.warned = True
        return Verdict.WARN

    def retry_after(self, user_id: int) -> int:
        """Whole seconds until this user's next update will be read again (0 if it would be now)."""
        window = self._users.get(user_id)
        if window is None or len(window.admitted) < self.max_messages:
            return 0
        return max(0, math.ceil(window.admitted[0] + self.seconds - self.clock()))

    def tracked(self) -> int:
        """How many users the limiter holds counts for (idle ones are forgotten as it goes)."""
        return len(self._users)

    def _expire(self, window: _Window, now: float) -> None:
        while window.admitted and window.admitted[0] <= now - self.seconds:
            window.admitted.popleft()

    def _sweep(self, now: float) -> None:
        for user_id in list(self._users):
            window = self._users[user_id]
            self._expire(window, now)
            if not window.admitted:
                del self._users[user_id]
        self._sweep_at = max(SWEEP_AT, 2 * len(self._users))


async def flood_guard(update: Update, context: Context) -> None:
    """Runs before every other handler: lets the update through, or answers a flood once and stops it."""
    user = update.effective_user
    if user is None:
        return
    limiter: FloodLimiter = context.bot_data.flood
    verdict = limiter.check(user.id)
    if verdict is Verdict.ALLOW:
        return
    query = update.callback_query
    if verdict is Verdict.WARN:
        from channels.telegram.common import user_language

        lang = await user_language(update, context)
        text = context.bot_data.t(lang, "robust.flood", seconds=max(1, limiter.retry_after(user.id)))
        if query is not None:
            await query.answer(text, show_alert=True)
        elif update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
            await update.effective_chat.send_message(text)
    elif query is not None:
        await query.answer()  # every button press is answered, even one that is not read
    raise ApplicationHandlerStop
