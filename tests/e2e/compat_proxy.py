"""An HTTP compatibility layer between a python-telegram-bot 22 bot and the `telegram-test-api` emulator.

The bot's TELEGRAM_API_URL points here; every `/bot<token>/<method>` call is recorded (method, decoded
params, uploaded files, HTTP status, response) and forwarded to the emulator, mending the gaps that make
PTB 22 fail against telegram-test-api 4.2.1: getMe gains `is_bot` and the other bot booleans; message
dates in milliseconds become seconds and returned messages become clean `Message` objects (the real chat,
`from` = the bot); editMessageText/editMessageReplyMarkup check that the message exists and changed, drop
the keyboard when none is passed (as Telegram does) and return the edited message; answerCallbackQuery,
deleteMessage and friends return `true`; emulator errors become Telegram-style `{"ok": false, ...}`
answers with a matching HTTP status; setMyCommands, deleteMyCommands, getMyCommands, setChatMenuButton,
getChatMenuButton, sendChatAction, getFile and file downloads are answered here; sendPhoto/sendDocument
keep the uploaded bytes (readable with `file()`) and reach the chat as a message through the emulator;
callback queries gain `chat_instance`; getUpdates honours `offset` (updates stay pending until a later
offset confirms them, so an unconfirmed update is delivered again after a crash, as Telegram does),
`limit`, a bounded long-poll `timeout`, and a newer getUpdates ends an older one with 409 Conflict. The
client side of the emulator (`/sendMessage`, `/sendCommand`, `/sendCallback`, `/getUpdates`,
`/getUpdatesHistory`) is forwarded unchanged so that test clients can wake long-polls at once, and
`/_proxy/...` serves the recorded calls, stored files and a bounded "wait for the bot to write to this
chat" long-poll. Text is returned as sent: parse_mode markup is not rendered into entities. Stdlib and
httpx only; run it in-process with `CompatProxy(emulator_url).start()` or as a script (see `main`).
"""

from __future__ import annotations

import argparse
import base64
import copy
import email.parser
import email.policy
import itertools
import json
import re
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

MAX_LONG_POLL_SECONDS = 30.0
FALLBACK_RECHECK_SECONDS = 0.25
EMULATOR_TIMEOUT_SECONDS = 10.0
DEFAULT_BOT_USER = {"id": 666, "is_bot": True, "first_name": "Test First name", "username": "TestNameBot"}
GET_ME_DEFAULTS = {
    "is_bot": True,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
}
CONFLICT = (409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")
# Parameters whose form value is a plain string even when it looks like JSON ("123", "true").
STRING_PARAMS = frozenset({
    "text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "data", "url", "emoji", "title",
    "description", "short_description", "name", "file_id", "action", "language_code", "secret_token",
    "business_connection_id", "message_effect_id", "query", "next_offset", "question", "address",
    "phone_number", "first_name", "last_name", "vcard", "custom_title", "ip_address", "certificate",
    "photo", "document", "audio", "video", "voice", "animation", "video_note", "sticker", "thumbnail",
})
ID_PARAMS = frozenset({"chat_id", "from_chat_id", "user_id"})
MESSAGE_CONTENT_KEYS = ("text", "entities", "caption", "caption_entities", "photo", "document", "has_protected_content")
FILE_KEYS = ("photo", "document", "voice", "audio", "video", "video_note", "animation", "sticker")
CLIENT_SEND_ROUTES = frozenset({"/sendMessage", "/sendCommand", "/sendCallback"})
CLIENT_ROUTES = CLIENT_SEND_ROUTES | {"/getUpdates", "/getUpdatesHistory"}
BOT_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
FILE_PATH = re.compile(r"^/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
LOCAL_TRUE_METHODS = frozenset({"sendChatAction", "setMyDescription", "setMyShortDescription", "setMyName"})
CHAT_WRITING_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "editMessageText",
                                  "editMessageReplyMarkup", "deleteMessage"})


class ApiError(Exception):
    """A Telegram-style error answer: HTTP status and description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


@dataclass(frozen=True)
class StoredFile:
    """A file the bot uploaded (or a user "sent"); `content` is what a download returns."""

    file_id: str
    file_unique_id: str
    content: bytes
    filename: str | None = None
    mime_type: str | None = None

    @property
    def file_path(self) -> str:
        return f"files/{self.file_id}"


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


@dataclass
class _TokenState:
    pending: list[dict[str, Any]] = field(default_factory=list)
    confirmed_offset: int = 0
    generation: int = 0
    polls: int = 0
    waiting: int = 0
    delivered: dict[int, dict[str, Any]] = field(default_factory=dict)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    menu_buttons: dict[str, dict[str, Any]] = field(default_factory=dict)


def decode_form_value(name: str, value: str) -> Any:
    """Turn one form-encoded Bot API parameter back into its JSON type, as PTB encoded it."""
    if name in ID_PARAMS:
        return int(value) if re.fullmatch(r"-?\d+", value) else value
    if name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


Upload = tuple[str | None, str | None, bytes]  # (filename, mime type, content) of one multipart file part


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Decode a Bot API request body (JSON, form-encoded or multipart) into params and uploaded parts."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}, {}
    if ctype == "application/json":
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ApiError(400, "Bad Request: the JSON body must be an object")
        return data, {}
    if ctype == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        params: dict[str, Any] = {}
        uploads: dict[str, Upload] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if not name:
                continue
            if part.get_filename() is not None:
                uploads[name] = (part.get_filename(), part.get_content_type(), payload)
            else:
                params[name] = decode_form_value(name, payload.decode("utf-8"))
        return params, uploads
    pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    return {name: decode_form_value(name, value) for name, value in pairs}, {}


def to_seconds(value: Any) -> int:
    """Telegram dates are Unix seconds; the emulator writes milliseconds for bot messages."""
    if not isinstance(value, int | float) or value <= 0:
        return int(time.time())
    return int(value // 1000) if value > 100_000_000_000 else int(value)


def chat_instance_for(token: str, chat_id: Any) -> str:
    """A stable stand-in for Telegram's opaque chat_instance: one value per (bot, chat)."""
    return str(zlib.crc32(f"{token}:{chat_id}".encode()) * 1_000_003)


def png_size(content: bytes) -> tuple[int, int]:
    """Width and height of a PNG (charts are PNGs); (0, 0) for anything else."""
    if content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    return 0, 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - the name is fixed by BaseHTTPRequestHandler
        self.server.proxy._handle(self)

    def do_POST(self) -> None:  # noqa: N802 - the name is fixed by BaseHTTPRequestHandler
        self.server.proxy._handle(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by the base class
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], proxy: CompatProxy) -> None:
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
        if not isinstance(error, ConnectionError | TimeoutError):
            self.proxy._note_error("connection handler", error)

    def cut_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class CompatProxy:
    """The compatibility proxy; `start()` serves it on a background thread, `close()` stops everything."""

    def __init__(self, emulator_url: str, *, host: str = "127.0.0.1", port: int = 0, record: bool = True,
                 max_long_poll: float = MAX_LONG_POLL_SECONDS) -> None:
        self.emulator_url = emulator_url.rstrip("/")
        self.record = record
        self.max_long_poll = max_long_poll
        self.errors: list[str] = []
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._wakeups = 0
        self._stopping = False
        self._seq = itertools.count(1)
        self._last_seq = 0
        self._file_seq = itertools.count(1)
        self._calls: list[ApiCall] = []
        self._tokens: dict[str, _TokenState] = {}
        self._files: dict[str, StoredFile] = {}
        self._chats: dict[tuple[str, str], dict[str, Any]] = {}
        self._dates: dict[tuple[str, str, int], int] = {}
        self._chat_versions: dict[tuple[str, str], int] = {}
        self._bot_user = dict(DEFAULT_BOT_USER)
        self._http = httpx.Client(base_url=self.emulator_url, timeout=EMULATOR_TIMEOUT_SECONDS)
        self._server = _Server((host, port), self)
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> CompatProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="compat-proxy", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.cut_connections()
        self._server.server_close()
        self._http.close()

    def __enter__(self) -> CompatProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ test-facing API
    def calls(self, token: str | None = None, method: str | None = None, since: int = 0) -> list[ApiCall]:
        """Recorded calls, oldest first, optionally for one token / method, with `seq > since`."""
        with self._lock:
            return [c for c in self._calls if (token is None or c.token == token)
                    and (method is None or c.method == method) and c.seq > since]

    @property
    def last_seq(self) -> int:
        """The `seq` of the newest recorded call (0 before any); pass it as `since` later."""
        with self._lock:
            return self._last_seq

    def wait_for_call(self, predicate: Any, timeout: float, since: int = 0) -> ApiCall | None:
        """Block (bounded) until a recorded call with `seq > since` satisfies `predicate`; None on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self._calls:
                    if call.seq > since and predicate(call):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping:
                    return None
                self._cond.wait(remaining)

    def delivered_updates(self, token: str) -> list[dict[str, Any]]:
        """Every update handed to the bot at least once (as patched), by update_id."""
        with self._lock:
            state = self._tokens.get(token)
            return [copy.deepcopy(u) for _, u in sorted(state.delivered.items())] if state else []

    def unanswered_callback_queries(self, token: str) -> list[dict[str, Any]]:
        """Callback queries delivered to the bot for which no answerCallbackQuery call was recorded."""
        answered = {str(c.params.get("callback_query_id")) for c in self.calls(token, "answerCallbackQuery")}
        return [u["callback_query"] for u in self.delivered_updates(token)
                if "callback_query" in u and str(u["callback_query"]["id"]) not in answered]

    def confirmed_offset(self, token: str) -> int:
        """The highest offset the bot has confirmed with getUpdates (updates below it are gone)."""
        with self._lock:
            state = self._tokens.get(token)
            return state.confirmed_offset if state else 0

    def poll_count(self, token: str) -> int:
        """How many getUpdates calls this token has made (counted even when recording is off)."""
        with self._lock:
            state = self._tokens.get(token)
            return state.polls if state else 0

    def waiting_polls(self, token: str) -> int:
        """How many getUpdates long-polls of this token are waiting right now."""
        with self._lock:
            state = self._tokens.get(token)
            return state.waiting if state else 0

    def commands(self, token: str, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict]:
        """The command menu the bot set for a scope (default scope) and language ("" = all languages)."""
        with self._lock:
            state = self._tokens.get(token)
            key = _commands_key(scope, language_code)
            return copy.deepcopy(state.commands.get(key, [])) if state else []

    def file(self, file_id: str) -> StoredFile | None:
        """A stored file by file_id (bot uploads and files users sent), or None."""
        with self._lock:
            return self._files.get(file_id)

    def register_file(self, file_id: str, content: bytes, filename: str | None = None,
                      mime_type: str | None = None) -> StoredFile:
        """Make getFile and downloads of `file_id` return `content`."""
        stored = StoredFile(file_id, f"u{zlib.crc32(file_id.encode()):x}", content, filename, mime_type)
        with self._lock:
            self._files[file_id] = stored
        return stored

    def chat_version(self, token: str, chat_id: Any) -> int:
        """A counter that grows each time the bot writes to (or edits in) the chat."""
        with self._lock:
            return self._chat_versions.get((token, str(chat_id)), 0)

    def wait_chat_change(self, token: str, chat_id: Any, since: int, timeout: float) -> int:
        """Block (bounded) until the chat's version exceeds `since`; returns the version then."""
        deadline = time.monotonic() + max(0.0, min(timeout, self.max_long_poll))
        key = (token, str(chat_id))
        with self._cond:
            while self._chat_versions.get(key, 0) <= since and not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._chat_versions.get(key, 0)

    def wake(self) -> None:
        """Tell waiting long-polls that the emulator may hold new updates."""
        with self._cond:
            self._wakeups += 1
            self._cond.notify_all()

    # ------------------------------------------------------------------ plumbing
    def _state(self, token: str) -> _TokenState:
        state = self._tokens.get(token)
        if state is None:
            state = self._tokens[token] = _TokenState()
        return state

    def _note_error(self, where: str, error: BaseException | None) -> None:
        text = "".join(traceback.format_exception(error)) if error else "unknown error"
        with self._lock:
            self.errors.append(f"{where}: {text}")

    def _handle(self, handler: _Handler) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        content_type = handler.headers.get("Content-Type", "")
        try:
            if match := BOT_PATH.match(parsed.path):
                status, payload = self._bot_call(match["token"], match["method"], parsed.query, content_type, body)
                self._reply_json(handler, status, payload)
            elif match := FILE_PATH.match(parsed.path):
                self._serve_file(handler, match["path"].removeprefix("files/"))
            elif parsed.path.startswith("/_proxy/"):
                self._serve_control(handler, parsed)
            elif parsed.path in CLIENT_ROUTES:
                response = self._http.post(parsed.path, content=body, headers={"Content-Type": content_type})
                if parsed.path in CLIENT_SEND_ROUTES:
                    self.wake()
                self._reply(handler, response.status_code, response.content,
                            response.headers.get("Content-Type", "application/json"))
            else:
                self._reply_json(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
        except (ConnectionError, TimeoutError):
            return
        except Exception as error:  # noqa: BLE001 - report any proxy bug to the caller and the test
            self._note_error(f"{handler.command} {parsed.path}", error)
            self._reply_json(handler, 500, {"ok": False, "error_code": 500,
                                            "description": f"compat proxy error: {error!r}"})

    def _reply_json(self, handler: _Handler, status: int, payload: Any) -> None:
        self._reply(handler, status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")

    @staticmethod
    def _reply(handler: _Handler, status: int, body: bytes, content_type: str) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            handler.wfile.flush()
        except (ConnectionError, TimeoutError, ValueError):
            handler.close_connection = True

    def _serve_file(self, handler: _Handler, file_id: str) -> None:
        stored = self.file(urllib.parse.unquote(file_id))
        if stored is None:
            self._reply_json(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
        else:
            self._reply(handler, 200, stored.content, stored.mime_type or "application/octet-stream")

    def _serve_control(self, handler: _Handler, parsed: urllib.parse.SplitResult) -> None:
        query = dict(urllib.parse.parse_qsl(parsed.query))
        if parsed.path == "/_proxy/health":
            self._reply_json(handler, 200, {"ok": True})
        elif parsed.path == "/_proxy/calls":
            calls = self.calls(query.get("token"), query.get("method"), int(query.get("since", 0)))
            self._reply_json(handler, 200, {"ok": True, "result": [
                {"seq": c.seq, "token": c.token, "method": c.method, "params": c.params, "status": c.status,
                 "response": c.response, "files": {k: f.file_id for k, f in c.files.items()}} for c in calls]})
        elif parsed.path == "/_proxy/chat_version":
            version = self.wait_chat_change(query["token"], query["chat_id"], int(query.get("since", -1)),
                                            float(query.get("timeout", 0)))
            self._reply_json(handler, 200, {"ok": True, "result": version})
        elif parsed.path.startswith("/_proxy/files/"):
            self._serve_file(handler, parsed.path.removeprefix("/_proxy/files/"))
        else:
            self._reply_json(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})

    # ------------------------------------------------------------- bot API calls
    def _bot_call(self, token: str, method: str, query: str, content_type: str,
                  body: bytes) -> tuple[int, dict[str, Any]]:
        started = time.time()
        files: dict[str, StoredFile] = {}
        params: dict[str, Any] = {}
        try:
            params, uploads = parse_body(content_type, body)
            for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
                params.setdefault(name, decode_form_value(name, value))
            status, payload = self._dispatch(token, method, params, uploads, files)
        except ApiError as error:
            status, payload = error.status, {"ok": False, "error_code": error.status,
                                             "description": error.description}
        if method in CHAT_WRITING_METHODS and payload.get("ok") and "chat_id" in params:
            with self._cond:
                key = (token, str(params["chat_id"]))
                self._chat_versions[key] = self._chat_versions.get(key, 0) + 1
                self._cond.notify_all()
        with self._cond:
            self._last_seq = seq = next(self._seq)
            if self.record:
                self._calls.append(ApiCall(seq, token, method, params, files, status, payload, started,
                                           time.time() - started))
            self._cond.notify_all()
        return status, payload

    def _dispatch(self, token: str, method: str, params: dict[str, Any],
                  uploads: dict[str, Upload],
                  files: dict[str, StoredFile]) -> tuple[int, dict[str, Any]]:
        if method == "getUpdates":
            return self._get_updates(token, params)
        if method == "getMe":
            result = {**GET_ME_DEFAULTS, **self._emulator(token, method, {}), "is_bot": True}
            self._bot_user = {k: result[k] for k in ("id", "is_bot", "first_name", "username") if k in result}
            return 200, {"ok": True, "result": result}
        if method == "deleteWebhook":
            self._emulator(token, method, params)
            if params.get("drop_pending_updates"):
                self._drop_pending(token)
            return 200, {"ok": True, "result": True}
        if method in ("sendPhoto", "sendDocument"):
            return 200, {"ok": True, "result": self._send_file(token, method, params, uploads, files)}
        if method in ("editMessageText", "editMessageReplyMarkup"):
            return 200, {"ok": True, "result": self._edit(token, method, params)}
        if method in ("setMyCommands", "deleteMyCommands", "getMyCommands"):
            return 200, {"ok": True, "result": self._commands(token, method, params)}
        if method in ("setChatMenuButton", "getChatMenuButton"):
            return 200, {"ok": True, "result": self._menu_button(token, method, params)}
        if method == "getFile":
            stored = self.file(str(params.get("file_id", "")))
            if stored is None:
                raise ApiError(400, "Bad Request: invalid file_id")
            return 200, {"ok": True, "result": {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                                                "file_size": len(stored.content), "file_path": stored.file_path}}
        if method in LOCAL_TRUE_METHODS:
            return 200, {"ok": True, "result": True}
        result = self._emulator(token, method, params)
        if method == "sendMessage":
            result = self._clean_message(token, result)
        elif result is None:
            result = True
        return 200, {"ok": True, "result": result}

    def _emulator(self, token: str, method: str, params: dict[str, Any]) -> Any:
        """Call the emulator's bot route; return its result or raise ApiError in Telegram's format."""
        response = self._http.post(f"/bot{token}/{method}", json=params)
        try:
            payload = response.json()
        except ValueError:
            raise ApiError(502, f"Bad Gateway: emulator answered {response.status_code} with non-JSON") from None
        if response.status_code >= 400 or not payload.get("ok", False):
            code = int(payload.get("error_code") or response.status_code or 500)
            description = payload.get("description") or payload.get("message") or "unknown emulator error"
            raise ApiError(code if code >= 400 else 500, f"telegram-test-api: {description}")
        return payload.get("result")

    # getUpdates: pending-until-confirmed, bounded long-poll, newest poll wins.
    def _get_updates(self, token: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), self.max_long_poll)
        deadline = time.monotonic() + timeout
        with self._cond:
            state = self._state(token)
            state.polls += 1
            state.generation += 1
            generation = state.generation
            self._cond.notify_all()
            if offset > 0:
                state.confirmed_offset = max(state.confirmed_offset, offset)
                state.pending = [u for u in state.pending if u["update_id"] >= offset]
            elif offset < 0:
                state.pending = state.pending[offset:]
                if state.pending:
                    state.confirmed_offset = max(state.confirmed_offset, state.pending[0]["update_id"])
        while True:
            with self._lock:
                wakeups = self._wakeups
            fetched = self._emulator(token, "getUpdates", {})
            with self._cond:
                self._add_pending(token, state, fetched)
                if state.generation != generation:
                    return CONFLICT[0], {"ok": False, "error_code": CONFLICT[0], "description": CONFLICT[1]}
                ready = state.pending[:limit]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0 or self._stopping:
                    for update in ready:
                        state.delivered.setdefault(update["update_id"], update)
                    return 200, {"ok": True, "result": copy.deepcopy(ready)}
                if self._wakeups == wakeups:
                    state.waiting += 1
                    try:
                        self._cond.wait(min(remaining, FALLBACK_RECHECK_SECONDS))
                    finally:
                        state.waiting -= 1

    def _add_pending(self, token: str, state: _TokenState, fetched: Iterable[dict[str, Any]]) -> None:
        known = {u["update_id"] for u in state.pending}
        for raw in fetched:
            update = self._patch_update(token, raw)
            if update["update_id"] >= state.confirmed_offset and update["update_id"] not in known:
                state.pending.append(update)
                known.add(update["update_id"])
        state.pending.sort(key=lambda u: u["update_id"])

    def _drop_pending(self, token: str) -> None:
        fetched = self._emulator(token, "getUpdates", {})
        with self._cond:
            state = self._state(token)
            self._add_pending(token, state, fetched)
            if state.pending:
                state.confirmed_offset = max(state.confirmed_offset, state.pending[-1]["update_id"] + 1)
            state.pending = []

    def _patch_update(self, token: str, raw: dict[str, Any]) -> dict[str, Any]:
        """Make an emulator update look like Telegram's (caller holds the lock)."""
        update = copy.deepcopy(raw)
        message = update.pop("message", None)
        if isinstance(message, dict):
            meta = message.pop("_e2e", None) or {}
            message.pop("botToken", None)
            message["date"] = to_seconds(message.get("date"))
            self._remember_chat(token, message.get("chat"))
            self._register_message_files(message, meta.get("files") or {})
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
                    attached.setdefault("from", dict(self._bot_user))
                self._remember_chat(token, attached.get("chat"))
                query.setdefault("chat_instance", chat_instance_for(token, (attached.get("chat") or {}).get("id")))
            else:
                query.pop("message", None)
                query.setdefault("chat_instance", chat_instance_for(token, (query.get("from") or {}).get("id")))
        return update

    def _remember_chat(self, token: str, chat: Any) -> None:
        if isinstance(chat, dict) and "id" in chat:
            self._chats[(token, str(chat["id"]))] = {k: v for k, v in chat.items() if k in (
                "id", "type", "title", "username", "first_name", "last_name", "is_forum")}

    def _register_message_files(self, message: dict[str, Any], contents: dict[str, str]) -> None:
        for key in FILE_KEYS:
            value = message.get(key)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and "file_id" in item and item["file_id"] not in self._files:
                    file_id = str(item["file_id"])
                    content = base64.b64decode(contents[file_id]) if file_id in contents else b""
                    unique = str(item.get("file_unique_id") or f"u{zlib.crc32(file_id.encode()):x}")
                    self._files[file_id] = StoredFile(file_id, unique, content, item.get("file_name"),
                                                      item.get("mime_type"))

    # Messages the bot sends or edits.
    def _chat(self, token: str, chat_id: Any) -> dict[str, Any]:
        with self._lock:
            known = self._chats.get((token, str(chat_id)))
        if known:
            return dict(known)
        numeric = int(chat_id) if re.fullmatch(r"-?\d+", str(chat_id)) else 0
        if numeric > 0:
            return {"id": numeric, "type": "private", "first_name": f"User {numeric}"}
        return {"id": numeric, "type": "supergroup", "title": f"Chat {chat_id}"}

    def _clean_message(self, token: str, raw: dict[str, Any], *, edit_date: int | None = None) -> dict[str, Any]:
        chat_id = raw.get("chat_id", (raw.get("chat") or {}).get("id"))
        message_id = int(raw["message_id"])
        key = (token, str(chat_id), message_id)
        with self._lock:
            date = self._dates.setdefault(key, to_seconds(raw.get("date")))
        message: dict[str, Any] = {"message_id": message_id, "from": dict(self._bot_user), "date": date,
                                   "chat": self._chat(token, chat_id)}
        if edit_date is not None:
            message["edit_date"] = edit_date
        for name in MESSAGE_CONTENT_KEYS:
            if raw.get(name) is not None:
                message[name] = raw[name]
        markup = raw.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            message["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        return message

    def _stored_bot_message(self, token: str, chat_id: Any, message_id: Any) -> dict[str, Any] | None:
        response = self._http.post("/getUpdatesHistory", json={"token": token})
        for item in response.json().get("result") or []:
            message = item.get("message") or {}
            if ("chat_id" in message and str(item.get("messageId")) == str(message_id)
                    and str(message["chat_id"]) == str(chat_id)):
                return {**message, "message_id": item["messageId"], "date": item.get("time")}
        return None

    def _edit(self, token: str, method: str, params: dict[str, Any]) -> Any:
        if params.get("inline_message_id"):
            return True
        if "chat_id" not in params or "message_id" not in params:
            raise ApiError(400, "Bad Request: chat_id and message_id are required")
        before = self._stored_bot_message(token, params["chat_id"], params["message_id"])
        if before is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        forward = dict(params)
        forward.setdefault("reply_markup", {"inline_keyboard": []})
        new_text = forward.get("text", before.get("text"))
        if new_text == before.get("text") and _keyboard(forward) == _keyboard(before):
            raise ApiError(400, NOT_MODIFIED)
        self._emulator(token, method, forward)
        after = self._stored_bot_message(token, params["chat_id"], params["message_id"]) or before
        return self._clean_message(token, after, edit_date=int(time.time()))

    def _send_file(self, token: str, method: str, params: dict[str, Any],
                   uploads: dict[str, Upload], files: dict[str, StoredFile]) -> Any:
        kind = "photo" if method == "sendPhoto" else "document"
        value = params.pop(kind, None)
        name = value.removeprefix("attach://") if isinstance(value, str) and value.startswith("attach://") else kind
        if name in uploads:
            filename, mime_type, content = uploads[name]
            file_id = f"e2e-{kind}-{next(self._file_seq)}"
            stored = self.register_file(file_id, content, filename, mime_type)
        elif isinstance(value, str) and value:
            stored = self.file(value) or self.register_file(value, b"", value.rsplit("/", 1)[-1] or None, None)
        else:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        files[kind] = stored
        if kind == "photo":
            width, height = png_size(stored.content)
            descriptor: Any = [{"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                                "width": width, "height": height, "file_size": len(stored.content)}]
        else:
            descriptor = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                          "file_name": stored.filename, "mime_type": stored.mime_type,
                          "file_size": len(stored.content)}
            descriptor = {k: v for k, v in descriptor.items() if v is not None}
        result = self._emulator(token, "sendMessage", {**params, kind: descriptor})
        return self._clean_message(token, result)

    def _commands(self, token: str, method: str, params: dict[str, Any]) -> Any:
        key = _commands_key(params.get("scope"), str(params.get("language_code") or ""))
        with self._lock:
            state = self._state(token)
            if method == "setMyCommands":
                commands = params.get("commands")
                if not isinstance(commands, list):
                    raise ApiError(400, "Bad Request: commands must be a JSON array")
                state.commands[key] = commands
                return True
            if method == "deleteMyCommands":
                state.commands.pop(key, None)
                return True
            return copy.deepcopy(state.commands.get(key, []))

    def _menu_button(self, token: str, method: str, params: dict[str, Any]) -> Any:
        key = str(params.get("chat_id", ""))
        with self._lock:
            state = self._state(token)
            if method == "setChatMenuButton":
                state.menu_buttons[key] = params.get("menu_button") or {"type": "default"}
                return True
            return copy.deepcopy(state.menu_buttons.get(key, state.menu_buttons.get("", {"type": "commands"})))


def _commands_key(scope: Any, language_code: str) -> str:
    scope = scope if isinstance(scope, dict) else {"type": "default"}
    return json.dumps([scope, language_code or ""], sort_keys=True)


def _keyboard(message: dict[str, Any]) -> Any:
    markup = message.get("reply_markup")
    return (markup.get("inline_keyboard") or []) if isinstance(markup, dict) else []


def main(argv: list[str] | None = None) -> int:
    """`python tests/e2e/compat_proxy.py --emulator URL [--port N]`: serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--emulator", required=True, help="base URL of telegram-test-api, e.g. http://127.0.0.1:9000")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (127.0.0.1); 0 picks a free one")
    parser.add_argument("--no-record", action="store_true", help="do not keep every call (long benchmarks)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with CompatProxy(args.emulator, port=args.port, record=not args.no_record) as proxy:
        print(f"READY compat proxy {proxy.url} -> {proxy.emulator_url}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
