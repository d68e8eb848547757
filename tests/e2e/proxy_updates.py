"""The compat proxy's update queue: getUpdates with Telegram's offsets, long-polls and conflicts.

The emulator hands out each update once; Telegram keeps an update pending until a later getUpdates
`offset` confirms it, so an unconfirmed update is delivered again after a crash. The queue fetches what
the emulator holds, patches it into Telegram's shape (seconds, `edited_message`, a clean
callback message, `chat_instance`) and keeps it pending per token; getUpdates honours `offset` (also
negative), `limit` and a bounded long-poll `timeout` (woken by the hub when a user sends something), and a
newer getUpdates of the same token ends an older one with 409 Conflict. It also counts polls and waiting
polls and keeps every delivered update, so tests can see what the bot was given.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from proxy_emulator import EmulatorClient
from proxy_files import FileStore
from proxy_hub import Hub
from proxy_messages import BotMessages
from proxy_wire import chat_instance_for, failure, success, to_seconds

FALLBACK_RECHECK_SECONDS = 0.25
CONFLICT = (409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")


@dataclass
class _TokenState:
    pending: list[dict[str, Any]] = field(default_factory=list)
    confirmed_offset: int = 0
    generation: int = 0
    polls: int = 0
    waiting: int = 0
    delivered: dict[int, dict[str, Any]] = field(default_factory=dict)


class UpdateQueue:
    """Pending updates per bot token, fed from the emulator and handed out by `get_updates`."""

    def __init__(self, hub: Hub, emulator: EmulatorClient, messages: BotMessages, files: FileStore,
                 max_long_poll: float) -> None:
        self._hub = hub
        self._emulator = emulator
        self._messages = messages
        self._files = files
        self.max_long_poll = max_long_poll
        self._tokens: dict[str, _TokenState] = {}

    # ----------------------------------------------------------------- what tests read
    def _read(self, token: str, name: str) -> int:
        with self._hub.lock:
            state = self._tokens.get(token)
            return getattr(state, name) if state else 0

    def confirmed_offset(self, token: str) -> int:
        """The highest offset the bot has confirmed with getUpdates (updates below it are gone)."""
        return self._read(token, "confirmed_offset")

    def poll_count(self, token: str) -> int:
        """How many getUpdates calls this token has made (counted even when recording is off)."""
        return self._read(token, "polls")

    def waiting_polls(self, token: str) -> int:
        """How many getUpdates long-polls of this token are waiting right now."""
        return self._read(token, "waiting")

    def delivered_updates(self, token: str) -> list[dict[str, Any]]:
        """Every update handed to the bot at least once (as patched), by update_id."""
        with self._hub.lock:
            state = self._tokens.get(token)
            return [copy.deepcopy(u) for _, u in sorted(state.delivered.items())] if state else []

    # ------------------------------------------------------------------- the bot's side
    def _state(self, token: str) -> _TokenState:
        state = self._tokens.get(token)
        if state is None:
            state = self._tokens[token] = _TokenState()
        return state

    def get_updates(self, token: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """getUpdates: pending-until-confirmed, bounded long-poll, newest poll wins."""
        hub = self._hub
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), self.max_long_poll)
        deadline = time.monotonic() + timeout
        with hub.cond:
            state = self._state(token)
            state.polls += 1
            state.generation += 1
            generation = state.generation
            hub.cond.notify_all()
            if offset > 0:
                state.confirmed_offset = max(state.confirmed_offset, offset)
                state.pending = [u for u in state.pending if u["update_id"] >= offset]
            elif offset < 0:
                state.pending = state.pending[offset:]
                if state.pending:
                    state.confirmed_offset = max(state.confirmed_offset, state.pending[0]["update_id"])
        while True:
            with hub.lock:
                wakeups = hub.wakeups
            fetched = self._emulator.call(token, "getUpdates", {})
            with hub.cond:
                self._add_pending(token, state, fetched)
                if state.generation != generation:
                    return CONFLICT[0], failure(*CONFLICT)
                ready = state.pending[:limit]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0 or hub.stopping:
                    for update in ready:
                        state.delivered.setdefault(update["update_id"], update)
                    return 200, success(copy.deepcopy(ready))
                if hub.wakeups == wakeups:
                    state.waiting += 1
                    try:
                        hub.cond.wait(min(remaining, FALLBACK_RECHECK_SECONDS))
                    finally:
                        state.waiting -= 1

    def drop_pending(self, token: str) -> None:
        """deleteWebhook(drop_pending_updates=True): confirm everything the emulator holds."""
        fetched = self._emulator.call(token, "getUpdates", {})
        with self._hub.cond:
            state = self._state(token)
            self._add_pending(token, state, fetched)
            if state.pending:
                state.confirmed_offset = max(state.confirmed_offset, state.pending[-1]["update_id"] + 1)
            state.pending = []

    def _add_pending(self, token: str, state: _TokenState, fetched: Iterable[dict[str, Any]]) -> None:
        known = {u["update_id"] for u in state.pending}
        for raw in fetched:
            update = self._patch_update(token, raw)
            if update["update_id"] >= state.confirmed_offset and update["update_id"] not in known:
                state.pending.append(update)
                known.add(update["update_id"])
        state.pending.sort(key=lambda u: u["update_id"])

    def _patch_update(self, token: str, raw: dict[str, Any]) -> dict[str, Any]:
        """Make an emulator update look like Telegram's (caller holds the lock)."""
        update = copy.deepcopy(raw)
        message = update.pop("message", None)
        if isinstance(message, dict):
            meta = message.pop("_e2e", None) or {}
            message.pop("botToken", None)
            message["date"] = to_seconds(message.get("date"))
            self._messages.remember_chat(token, message.get("chat"))
            self._files.register_message_files(message, meta.get("files") or {})
            kind = meta.get("kind", "message")
            if kind == "edited_message":
                message["message_id"] = int(meta["message_id"])
                message["edit_date"] = to_seconds(meta.get("edit_date"))
            update[kind] = message
        query = update.get("callback_query")
        if isinstance(query, dict):
            query.pop("botToken", None)
            attached = query.get("message")
            if isinstance(attached, dict):
                attached.pop("_e2e", None)
                attached.pop("botToken", None)
                if attached.get("date") != 0:
                    attached["date"] = to_seconds(attached.get("date"))
                    attached.setdefault("from", dict(self._messages.bot_user))
                self._messages.remember_chat(token, attached.get("chat"))
                query.setdefault("chat_instance", chat_instance_for(token, (attached.get("chat") or {}).get("id")))
            else:
                query.pop("message", None)
                query.setdefault("chat_instance", chat_instance_for(token, (query.get("from") or {}).get("id")))
        return update
