"""The compat proxy's HTTP server: routes each request to the proxy and writes the answer back.

Four kinds of path are served: `/bot<token>/<method>` (a bot API call, answered as JSON by the proxy's
`bot_call`), `/file/bot<token>/<path>` (a download of a stored file), `/_proxy/...` (the test-facing
control routes: health, recorded calls, the "wait until the bot writes to this chat" long-poll and stored
files) and the emulator's client-side routes, relayed unchanged (a user's send also wakes waiting
long-polls). A proxy bug becomes a 500 answer and a note in `proxy.errors`; a client that went away is
left alone. The server is threaded, tracks its open connections so that `cut_connections` can end
long-polls at close, and never logs to stderr.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import httpx
from proxy_files import StoredFile
from proxy_recorder import ApiCall
from proxy_wire import failure, success

CLIENT_SEND_ROUTES = frozenset({"/sendMessage", "/sendCommand", "/sendCallback"})
CLIENT_ROUTES = CLIENT_SEND_ROUTES | {"/getUpdates", "/getUpdatesHistory"}
BOT_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
FILE_PATH = re.compile(r"^/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
NOT_FOUND = failure(404, "Not Found")


class ProxyApp(Protocol):
    """What the server needs of the proxy it serves."""

    def bot_call(self, token: str, method: str, query: str, content_type: str,
                 body: bytes) -> tuple[int, dict[str, Any]]: ...
    def file(self, file_id: str) -> StoredFile | None: ...
    def calls(self, token: str | None = None, method: str | None = None, since: int = 0) -> list[ApiCall]: ...
    def wait_chat_change(self, token: str, chat_id: Any, since: int, timeout: float) -> int: ...
    def wake(self) -> None: ...
    def forward(self, path: str, body: bytes, content_type: str) -> httpx.Response: ...
    def note_error(self, where: str, error: BaseException | None) -> None: ...


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ProxyServer

    def do_GET(self) -> None:  # noqa: N802 - the name is fixed by BaseHTTPRequestHandler
        self._route()

    def do_POST(self) -> None:  # noqa: N802 - the name is fixed by BaseHTTPRequestHandler
        self._route()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by the base class
        return

    def _route(self) -> None:
        proxy = self.server.proxy
        parsed = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        try:
            if match := BOT_PATH.match(parsed.path):
                status, payload = proxy.bot_call(match["token"], match["method"], parsed.query, content_type, body)
                self._reply_json(status, payload)
            elif match := FILE_PATH.match(parsed.path):
                self._serve_file(match["path"].removeprefix("files/"))
            elif parsed.path.startswith("/_proxy/"):
                self._serve_control(parsed)
            elif parsed.path in CLIENT_ROUTES:
                response = proxy.forward(parsed.path, body, content_type)
                if parsed.path in CLIENT_SEND_ROUTES:
                    proxy.wake()
                self._reply(response.status_code, response.content,
                            response.headers.get("Content-Type", "application/json"))
            else:
                self._reply_json(404, NOT_FOUND)
        except OSError:  # the client went away (or the proxy is closing): nobody to answer
            return
        except Exception as error:  # noqa: BLE001 - report any proxy bug to the caller and the test
            proxy.note_error(f"{self.command} {parsed.path}", error)
            self._reply_json(500, failure(500, f"compat proxy error: {error!r}"))

    def _reply_json(self, status: int, payload: Any) -> None:
        self._reply(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (OSError, ValueError):
            self.close_connection = True

    def _serve_file(self, file_id: str) -> None:
        stored = self.server.proxy.file(urllib.parse.unquote(file_id))
        if stored is None:
            self._reply_json(404, NOT_FOUND)
        else:
            self._reply(200, stored.content, stored.mime_type or "application/octet-stream")

    def _serve_control(self, parsed: urllib.parse.SplitResult) -> None:
        proxy = self.server.proxy
        query = dict(urllib.parse.parse_qsl(parsed.query))
        if parsed.path == "/_proxy/health":
            self._reply_json(200, {"ok": True})
        elif parsed.path == "/_proxy/calls":
            calls = proxy.calls(query.get("token"), query.get("method"), int(query.get("since", 0)))
            self._reply_json(200, success([call.as_json() for call in calls]))
        elif parsed.path == "/_proxy/chat_version":
            version = proxy.wait_chat_change(query["token"], query["chat_id"], int(query.get("since", -1)),
                                             float(query.get("timeout", 0)))
            self._reply_json(200, success(version))
        elif parsed.path.startswith("/_proxy/files/"):
            self._serve_file(parsed.path.removeprefix("/_proxy/files/"))
        else:
            self._reply_json(404, NOT_FOUND)


class ProxyServer(ThreadingHTTPServer):
    """A threaded HTTP server for `proxy` that waits for its handlers on close and can cut their sockets."""

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], proxy: ProxyApp) -> None:
        self.proxy = proxy
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            self.proxy.note_error("connection handler", error)

    def cut_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
