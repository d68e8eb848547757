"""A small, fast Telegram Bot API stand-in for the throughput, memory and start-up benchmarks, on 127.0.0.1.

It runs inside the benchmark's own event loop (asyncio streams, HTTP/1.1 keep-alive, no framework) so it
costs the measured bot nothing and needs no Node emulator. Per bot token it keeps Telegram's update queue:
`push_text` makes a private-chat text update (a leading `/command` gets its bot_command entity) and
getUpdates hands pending updates out honouring `offset`, `limit` and a bounded long-poll `timeout`, woken at
once by a new update. sendMessage answers a real Message and delivers it to the chat's `inbox`, so a
simulated trainee can wait for the bot's answer; getMe answers a bot user and every other method plain
`true` (the bench trainees never trigger a photo or a file). It also notes, per token, when the first
getUpdates arrived (`first_poll`) and counts calls by method. `start()` binds 127.0.0.1 on a free port;
`close()` stops it and every connection.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import os
import re
import socket
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"
BOT_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
MAX_POLL_SECONDS = 10.0
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found"}


@dataclass
class Sent:
    """One message the bot sent: when it arrived here (time.monotonic) and the Bot API Message."""

    at: float
    message: dict[str, Any]

    def callback_data(self) -> list[str]:
        rows = (self.message.get("reply_markup") or {}).get("inline_keyboard") or []
        return [button.get("callback_data", "") for row in rows for button in row]


@dataclass
class BotState:
    """What the stand-in keeps for one token."""

    token: str
    pending: collections.deque[dict[str, Any]] = field(default_factory=collections.deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    first_poll: asyncio.Future[float] | None = None
    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    inboxes: dict[int, asyncio.Queue[Sent]] = field(default_factory=dict)
    user_id: int = 0

    @property
    def bot_user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": True, "first_name": "Bench Bot", "username": f"bench{self.user_id}_bot",
                "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}


class BotApiStandIn:
    """The Bot API for any number of tokens, served from the caller's event loop."""

    def __init__(self) -> None:
        self.bots: dict[str, BotState] = {}
        self.server: asyncio.Server | None = None
        self.port = 0
        self.update_ids = itertools.count(1)
        self.message_ids = itertools.count(1)
        self.bot_ids = itertools.count(700_000_001)
        self.connections: set[asyncio.StreamWriter] = set()
        self.handlers: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        """What a bot's TELEGRAM_API_URL should be."""
        return f"http://{HOST}:{self.port}"

    async def start(self) -> BotApiStandIn:
        self.server = await asyncio.start_server(self._serve, HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening, end waiting long-polls and close every connection; waits for their handlers."""
        if self.server is None:
            return
        self.server.close()
        for state in self.bots.values():
            state.wakeup.set()
        for writer in list(self.connections):
            writer.close()
        if self.handlers:
            _, stuck = await asyncio.wait(set(self.handlers), timeout=5.0)
            for task in stuck:
                task.cancel()
        await self.server.wait_closed()
        self.server = None

    def bot(self, token: str) -> BotState:
        state = self.bots.get(token)
        if state is None:
            state = self.bots[token] = BotState(token, first_poll=asyncio.get_running_loop().create_future(),
                                                user_id=next(self.bot_ids))
        return state

    def new_token(self) -> str:
        token = f"{next(self.bot_ids)}:BENCH-{int(time.time() * 1000) % 10**9}"
        self.bot(token)
        return token

    def inbox(self, token: str, chat_id: int) -> asyncio.Queue[Sent]:
        """The messages the bot sends to `chat_id` arrive on this queue (create it before sending)."""
        return self.bot(token).inboxes.setdefault(chat_id, asyncio.Queue())

    def forget(self, token: str, chat_id: int) -> None:
        self.bot(token).inboxes.pop(chat_id, None)

    def push_text(self, token: str, user_id: int, text: str, language_code: str = "zh") -> int:
        """Queue a private text message from `user_id` for the bot; returns its update_id."""
        user = {"id": user_id, "is_bot": False, "first_name": f"Trainee{user_id}", "language_code": language_code}
        message: dict[str, Any] = {"message_id": next(self.message_ids), "date": int(time.time()), "text": text,
                                   "chat": {"id": user_id, "type": "private", "first_name": user["first_name"]},
                                   "from": user}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        update_id = next(self.update_ids)
        state = self.bot(token)
        state.pending.append({"update_id": update_id, "message": message})
        state.wakeup.set()
        return update_id

    async def first_poll(self, token: str, timeout: float) -> float:
        """The time.monotonic() at which the first getUpdates of `token` arrived; TimeoutError after `timeout`."""
        return await asyncio.wait_for(asyncio.shield(self.bot(token).first_poll), timeout)

    # -- HTTP -----------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections.add(writer)
        self.handlers.add(asyncio.current_task())
        try:
            while True:
                request = await self._read_request(reader)
                if request is None or self.server is None or not self.server.is_serving():
                    break
                path, headers, body = request
                status, payload = await self._route(path, headers.get("content-type", ""), body)
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                writer.write(f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nContent-Type: application/json"
                             f"\r\nContent-Length: {len(data)}\r\n\r\n".encode("latin-1") + data)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.connections.discard(writer)
            self.handlers.discard(asyncio.current_task())
            writer.close()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes] | None:
        line = await reader.readline()
        if not line:
            return None
        parts = line.decode("latin-1").split(" ")
        headers: dict[str, str] = {}
        while True:
            header = await reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        body = await reader.readexactly(length) if length else b""
        return (parts[1] if len(parts) > 1 else "/"), headers, body

    async def _route(self, path: str, content_type: str, body: bytes) -> tuple[int, dict[str, Any]]:
        match = BOT_PATH.match(urllib.parse.urlsplit(path).path)
        if not match:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        state, method = self.bot(match["token"]), match["method"]
        state.calls[method] += 1
        params = parse_params(content_type, body)
        if method == "getUpdates":
            return 200, {"ok": True, "result": await self._get_updates(state, params)}
        if method == "getMe":
            return 200, {"ok": True, "result": state.bot_user}
        if method == "sendMessage":
            return self._send_message(state, params)
        return 200, {"ok": True, "result": True}

    async def _get_updates(self, state: BotState, params: dict[str, str]) -> list[dict[str, Any]]:
        if not state.first_poll.done():
            state.first_poll.set_result(time.monotonic())
        offset, limit = int(params.get("offset") or 0), min(100, int(params.get("limit") or 100))
        timeout = min(MAX_POLL_SECONDS, float(params.get("timeout") or 0))
        while state.pending and state.pending[0]["update_id"] < offset:
            state.pending.popleft()  # confirmed by this offset
        if not state.pending and timeout > 0:
            state.wakeup.clear()
            try:
                await asyncio.wait_for(state.wakeup.wait(), timeout)
            except TimeoutError:
                pass
        return list(itertools.islice(state.pending, limit))

    def _send_message(self, state: BotState, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        chat_id, text = params.get("chat_id", ""), params.get("text", "")
        if not chat_id.lstrip("-").isdigit() or not text:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat_id and text needed"}
        message: dict[str, Any] = {"message_id": next(self.message_ids), "date": int(time.time()), "text": text,
                                   "from": state.bot_user, "chat": {"id": int(chat_id), "type": "private"}}
        if params.get("reply_markup"):
            message["reply_markup"] = json.loads(params["reply_markup"])
        inbox = state.inboxes.get(int(chat_id))
        if inbox is not None:
            inbox.put_nowait(Sent(time.monotonic(), message))
        return 200, {"ok": True, "result": message}


def machine(before: tuple[float, float, float] | None = None) -> dict[str, float | int]:
    """The CPUs and the 1-minute load average (at the start, `before`, and now): figures are read against them."""
    now = os.getloadavg()
    return {"cpus": os.cpu_count() or 0, "load_1m_start": round((before or now)[0], 2), "load_1m_end": round(now[0], 2)}


def bot_environment(base: dict[str, str], token: str, api_url: str, database_url: str) -> dict[str, str]:
    """The environment of a bot process talking to the stand-in: `base` less TELEGRAM_*/DATABASE_URL, plus ours."""
    env = {k: v for k, v in base.items() if not k.startswith("TELEGRAM_") and k != "DATABASE_URL"}
    env.update({"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_URL": api_url, "DATABASE_URL": database_url,
                "PYTHONUNBUFFERED": "1"})
    return env


def parse_params(content_type: str, body: bytes) -> dict[str, str]:
    """A request's parameters as strings: a form (what PTB 22 sends) or a JSON object."""
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return {key: value if isinstance(value, str) else json.dumps(value) for key, value in json.loads(body).items()}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {}
