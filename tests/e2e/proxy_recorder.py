"""The compat proxy's call recorder: every bot API call in arrival order, and which chats the bot wrote to.

Each call the bot makes is numbered (`seq`, counted even when recording is off) and, when recording is
on, kept as an `ApiCall` with its decoded params, uploaded files, HTTP status and answer. Each successful
call that writes to a chat (send, edit, delete) also bumps that chat's version. Tests read calls back
(`calls`), wait for one (`wait_for_call`) or wait for the bot to write to a chat (`wait_chat_change`, what
`ChatClient` long-polls instead of sleeping); all waits are bounded and end when the proxy stops.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from proxy_files import StoredFile
from proxy_hub import Hub

CHAT_WRITING_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "editMessageText",
                                  "editMessageReplyMarkup", "deleteMessage"})


@dataclass(frozen=True)
class ApiCall:
    """One recorded bot API call, in arrival order (`seq`); `params` are decoded to JSON types."""

    seq: int
    token: str
    method: str
    params: dict[str, Any]
    files: dict[str, StoredFile]
    status: int
    response: dict[str, Any]
    started: float
    duration: float

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def result(self) -> Any:
        return self.response.get("result")

    def brief(self) -> str:
        shown = {k: v for k, v in self.params.items() if k in ("chat_id", "text", "caption", "data",
                                                                 "callback_query_id", "message_id", "offset")}
        return f"#{self.seq} {self.method} {json.dumps(shown, ensure_ascii=False)[:160]} -> {self.status}"

    def as_json(self) -> dict[str, Any]:
        """The call as `/_proxy/calls` serves it."""
        return {"seq": self.seq, "token": self.token, "method": self.method, "params": self.params,
                "status": self.status, "response": self.response,
                "files": {k: f.file_id for k, f in self.files.items()}}


class CallRecorder:
    """Recorded calls and per-chat write versions, guarded by (and waking on) the proxy's hub."""

    def __init__(self, hub: Hub, record: bool) -> None:
        self._hub = hub
        self.record = record
        self._seq = itertools.count(1)
        self._last_seq = 0
        self._calls: list[ApiCall] = []
        self._chat_versions: dict[tuple[str, str], int] = {}

    def add(self, token: str, method: str, params: dict[str, Any], files: dict[str, StoredFile], status: int,
            payload: dict[str, Any], started: float) -> None:
        """Note a finished call (and the chat it wrote to) and wake the waiters."""
        if method in CHAT_WRITING_METHODS and payload.get("ok") and "chat_id" in params:
            with self._hub.cond:
                key = (token, str(params["chat_id"]))
                self._chat_versions[key] = self._chat_versions.get(key, 0) + 1
                self._hub.cond.notify_all()
        with self._hub.cond:
            self._last_seq = seq = next(self._seq)
            if self.record:
                self._calls.append(ApiCall(seq, token, method, params, files, status, payload, started,
                                           time.time() - started))
            self._hub.cond.notify_all()

    def calls(self, token: str | None = None, method: str | None = None, since: int = 0) -> list[ApiCall]:
        """Recorded calls, oldest first, optionally for one token / method, with `seq > since`."""
        with self._hub.lock:
            return [c for c in self._calls if (token is None or c.token == token)
                    and (method is None or c.method == method) and c.seq > since]

    @property
    def last_seq(self) -> int:
        """The `seq` of the newest recorded call (0 before any); pass it as `since` later."""
        with self._hub.lock:
            return self._last_seq

    def wait_for_call(self, predicate: Callable[[ApiCall], bool], timeout: float, since: int = 0) -> ApiCall | None:
        """Block (bounded) until a recorded call with `seq > since` satisfies `predicate`; None on timeout."""
        def first() -> ApiCall | None:
            return next((call for call in self._calls if call.seq > since and predicate(call)), None)

        return self._hub.wait(first, timeout)

    def chat_version(self, token: str, chat_id: Any) -> int:
        """How many times the bot has written to or edited in this chat."""
        with self._hub.lock:
            return self._chat_versions.get((token, str(chat_id)), 0)

    def wait_chat_change(self, token: str, chat_id: Any, since: int, timeout: float) -> int:
        """Block (bounded) until the chat's version exceeds `since`; returns the version then."""
        with self._hub.cond:
            self._hub.wait(lambda: self.chat_version(token, chat_id) > since, timeout)
            return self.chat_version(token, chat_id)
