"""A local Telegram Bot API stand-in for bench/broadcast.py, run as its own process on 127.0.0.1.

It answers `/bot<token>/<method>` the way Telegram does for what a broadcast needs: getMe returns a bot
user, sendMessage returns a Message (chat, text, reply markup) and every other method plain `true`. It
enforces Telegram's flood limits as a strict sliding window: at most 30 accepted messages overall in any
1-second window and at most one per chat in any 1-second window; past either it answers HTTP 429
`{"ok": false, "error_code": 429, "parameters": {"retry_after": N}}` with N the whole seconds until the
window has room again. Rejected requests do not count against the window. `GET /_stats` returns what it
saw (accepted and rejected messages with their times, the most messages seen in any 1-second window).
It binds 127.0.0.1 only, prints `PORT <n>` once listening, and stops by itself when its standard input
closes (the benchmark ended or died) or after `--timeout` seconds, whichever comes first.

    .venv/bin/python bench/botapi_standin.py [--rate 30] [--per-chat 1] [--timeout 1800]
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json
import math
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BOT_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
BOT_USER = {"id": 777000111, "is_bot": True, "first_name": "Bench Coach", "username": "bench_coach_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
MAX_REJECTIONS_KEPT = 2000


class FloodGate:
    """The sliding-window limits and the record of every message accepted or refused; thread-safe."""

    def __init__(self, overall: int, per_chat: int, window: float = 1.0) -> None:
        self.overall, self.per_chat, self.window = overall, per_chat, window
        self.lock = threading.Lock()
        self.recent: collections.deque[float] = collections.deque()  # accepted times within the last window
        self.chat_recent: dict[int | str, collections.deque[float]] = {}
        self.accepted: list[float] = []
        self.rejections: list[tuple[float, str, int]] = []  # (time, "overall" | "per_chat", retry_after)
        self.rejected = {"overall": 0, "per_chat": 0}
        self.calls: collections.Counter[str] = collections.Counter()
        self.next_message_id = 1

    def admit(self, chat_id: int | str) -> tuple[int | None, int]:
        """(None, message id) when the message may go out now, else (retry_after seconds, 0)."""
        with self.lock:
            now = time.monotonic()
            while self.recent and self.recent[0] <= now - self.window:
                self.recent.popleft()
            chat = self.chat_recent.setdefault(chat_id, collections.deque())
            while chat and chat[0] <= now - self.window:
                chat.popleft()
            reason, oldest = None, 0.0
            if len(self.recent) >= self.overall:
                reason, oldest = "overall", self.recent[0]
            elif len(chat) >= self.per_chat:
                reason, oldest = "per_chat", chat[0]
            if reason is not None:
                retry_after = max(1, math.ceil(oldest + self.window - now))
                self.rejected[reason] += 1
                if len(self.rejections) < MAX_REJECTIONS_KEPT:
                    self.rejections.append((now, reason, retry_after))
                return retry_after, 0
            self.recent.append(now)
            chat.append(now)
            self.accepted.append(now)
            message_id, self.next_message_id = self.next_message_id, self.next_message_id + 1
            return None, message_id

    def stats(self) -> dict[str, Any]:
        with self.lock:
            accepted, rejections = list(self.accepted), list(self.rejections)
            rejected, calls = dict(self.rejected), dict(self.calls)
        start = accepted[0] if accepted else (rejections[0][0] if rejections else 0.0)
        busiest = 0
        for index, moment in enumerate(accepted):  # the most accepted in any window [t, t + 1 s)
            busiest = max(busiest, bisect.bisect_left(accepted, moment + self.window) - index)
        per_second: collections.Counter[int] = collections.Counter(int(t - start) for t in accepted)
        span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
        return {
            "calls": calls, "accepted": len(accepted), "rejected_429": sum(rejected.values()),
            "rejected_overall": rejected["overall"], "rejected_per_chat": rejected["per_chat"],
            "first_to_last_s": round(span, 3),
            "server_rate_per_s": round((len(accepted) - 1) / span, 2) if span > 0 else None,
            "max_in_any_1s_window": busiest,
            "per_second": [per_second.get(second, 0) for second in range(int(span) + 1)] if accepted else [],
            "rejections": [{"at_s": round(moment - start, 3), "reason": reason, "retry_after": retry_after}
                           for moment, reason, retry_after in rejections],
        }


def parse_params(content_type: str, body: bytes) -> dict[str, Any]:
    """The request's parameters: JSON or a form (PTB 22 sends a form); multipart is not needed here."""
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return json.loads(body)
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall
    server: StandIn

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by the base class
        return

    def do_GET(self) -> None:  # noqa: N802 - the name is fixed by BaseHTTPRequestHandler
        if self.path == "/_stats":
            self.reply(200, self.server.gate.stats())
        else:
            self.route(b"", "")

    def do_POST(self) -> None:  # noqa: N802 - the name is fixed by BaseHTTPRequestHandler
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.route(body, self.headers.get("Content-Type", ""))

    def route(self, body: bytes, content_type: str) -> None:
        match = BOT_PATH.match(urllib.parse.urlsplit(self.path).path)
        if not match:
            self.reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        method, gate = match["method"], self.server.gate
        with gate.lock:
            gate.calls[method] += 1
        if method == "getMe":
            self.reply(200, {"ok": True, "result": BOT_USER})
        elif method == "sendMessage":
            self.send_message(parse_params(content_type, body))
        else:
            self.reply(200, {"ok": True, "result": True})

    def send_message(self, params: dict[str, Any]) -> None:
        raw_chat = params.get("chat_id")
        if raw_chat is None or not str(params.get("text", "")):
            self.reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat_id and text needed"})
            return
        chat_id: int | str = int(raw_chat) if str(raw_chat).lstrip("-").isdigit() else str(raw_chat)
        retry_after, message_id = self.server.gate.admit(chat_id)
        if retry_after is not None:
            self.reply(429, {"ok": False, "error_code": 429,
                             "description": f"Too Many Requests: retry after {retry_after}",
                             "parameters": {"retry_after": retry_after}})
            return
        message: dict[str, Any] = {
            "message_id": message_id, "date": int(time.time()), "from": BOT_USER, "text": params["text"],
            "chat": {"id": chat_id, "type": "private", "first_name": "Trainee"},
        }
        markup = params.get("reply_markup")
        if markup:
            message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        self.reply(200, {"ok": True, "result": message})

    def reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class StandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, gate: FloodGate) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.gate = gate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=30, help="messages overall in any 1-second window")
    parser.add_argument("--per-chat", type=int, default=1, help="messages per chat in any 1-second window")
    parser.add_argument("--timeout", type=float, default=1800.0, help="stop after this many seconds regardless")
    args = parser.parse_args()
    server = StandIn(FloodGate(args.rate, args.per_chat))
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()  # EOF: the parent is gone
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    stop.wait(args.timeout)
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
