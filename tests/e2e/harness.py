"""Reusable pieces of the end-to-end tests: processes, the compat proxy, and a scripted Telegram user.

`E2EStack.start()` runs the Bot API emulator (node, tests/e2e/emulator.js) and the `CompatProxy` in front
of it on 127.0.0.1; `BotProcess` runs a bot (`python bot.py run` by default) against the proxy with the
environment a test gives, and stops (SIGTERM, or SIGKILL on request) and restarts it; `ChatClient` plays one
user in one chat: it sends text, commands, button presses, other message kinds as raw dicts and edits, and
waits for the bot's messages with bounded waits that wake when the bot writes to the chat (no fixed sleeps),
failing with an assertion that lists what did arrive. Recorded bot API calls are read from the proxy
(`stack.proxy.calls(...)`, `BotProcess.calls(...)`). Every process, socket and file opened here is closed
by the matching `close`/`stop`.
"""

from __future__ import annotations

import base64
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from compat_proxy import ApiCall, CompatProxy, chat_instance_for

REPO_ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
EMULATOR_SCRIPT = E2E_DIR / "emulator.js"
EMULATOR_PACKAGE = REPO_ROOT / "node_modules" / "telegram-test-api"
ECHO_BOT = E2E_DIR / "echo_bot.py"
HOST = "127.0.0.1"
DEFAULT_WAIT = 10.0
BOT_READY_TIMEOUT = 30.0
BOT_STOP_TIMEOUT = 15.0
BOT_USERNAME = "TestNameBot"
T = TypeVar("T")
_token_numbers = itertools.count(1)


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


def emulator_install_problem(package_dir: Path = EMULATOR_PACKAGE) -> str | None:
    """Why the emulator cannot run here (missing node or node_modules), or None when it can."""
    if shutil.which("node") is None:
        return "e2e tests need Node.js (node 20) on PATH to run the Bot API emulator telegram-test-api."
    if not (package_dir / "package.json").is_file():
        return (f"the Bot API emulator is not installed ({package_dir} is missing): "
                f"run `npm ci` in {REPO_ROOT} (package.json pins telegram-test-api 4.2.1), then rerun the tests.")
    return None


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _stop_process(process: subprocess.Popen[bytes], *, kill: bool, timeout: float) -> tuple[int, bool]:
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
        wait_until(lambda: "READY" in _tail(self.log_path) or self.process.poll() is not None, timeout,
                   lambda: f"emulator did not start within {timeout}s; log:\n{_tail(self.log_path)}")
        if self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"emulator exited at start on port {self.port}; log:\n{_tail(self.log_path)}")
        return self

    def stop(self) -> int | None:
        if self.process is None:
            return None
        code, _ = _stop_process(self.process, kill=False, timeout=10.0)
        if self.process.stdin:
            self.process.stdin.close()
        self.process = None
        return code


@dataclass
class E2EStack:
    """The emulator process and the compat proxy in front of it, shared by the tests of a session."""

    emulator: EmulatorProcess
    proxy: CompatProxy
    log_dir: Path
    http: httpx.Client = field(repr=False)

    @classmethod
    def start(cls, log_dir: Path, *, record: bool = True, attempts: int = 3) -> E2EStack:
        for attempt in range(1, attempts + 1):
            emulator = EmulatorProcess(log_dir / "emulator.log")
            try:
                emulator.start()
                break
            except RuntimeError:
                if attempt == attempts:
                    raise
        proxy = CompatProxy(emulator.url, record=record).start()
        http = httpx.Client(base_url=proxy.url, timeout=DEFAULT_WAIT + 5)
        return cls(emulator, proxy, log_dir, http)

    @property
    def api_url(self) -> str:
        """What a bot's TELEGRAM_API_URL should be."""
        return self.proxy.url

    def new_token(self) -> str:
        """A fresh bot token, so every test has its own updates, messages and recorded calls."""
        return f"{100000 + next(_token_numbers)}:E2E-{uuid.uuid4().hex[:16]}"

    def chat(self, token: str, user_id: int, first_name: str = "Tester", language_code: str = "zh",
             chat_type: str = "private", **kwargs: Any) -> ChatClient:
        """A `ChatClient` talking to this stack (it borrows the stack's HTTP client)."""
        return ChatClient(user_id, first_name, language_code, chat_type, server_url=self.proxy.url,
                          token=token, http=self.http, **kwargs)

    def close(self) -> None:
        self.http.close()
        self.proxy.close()
        self.emulator.stop()


def bot_environment(token: str, api_url: str, database_url: str, extra: Mapping[str, str] | None = None,
                    base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a bot process: the caller's, less any TELEGRAM_*/DATABASE_URL, plus ours."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if not k.startswith("TELEGRAM_") and k != "DATABASE_URL"}
    env.update({"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_URL": api_url, "DATABASE_URL": database_url,
                "PYTHONUNBUFFERED": "1"})
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
        code, forced = _stop_process(self.process, kill=kill, timeout=timeout)
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
            _stop_process(self.process, kill=False, timeout=5.0)

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

    def failed_calls(self) -> list[ApiCall]:
        """Calls the proxy or emulator refused (status >= 400) other than getUpdates conflicts."""
        return [c for c in self.calls() if c.status >= 400 and c.status != 409]

    def describe(self, calls: int = 15, log_lines: int = 40) -> str:
        recent = "\n".join(f"  {c.brief()}" for c in self.calls()[-calls:]) or "  (none)"
        return (f"bot {' '.join(self.argv[1:])} pid={self.pid} exit={self.returncode}\n"
                f"last bot API calls:\n{recent}\nlog tail ({self.log_path}):\n{_tail(self.log_path, log_lines)}")


@dataclass(frozen=True)
class BotMessage:
    """A message the bot sent to the chat, as the emulator stored it (`raw` holds the sent fields)."""

    message_id: int
    chat_id: int
    date: int
    raw: dict[str, Any]

    @classmethod
    def from_emulator(cls, item: Mapping[str, Any]) -> BotMessage:
        message = dict(item["message"])
        return cls(int(item["messageId"]), int(message["chat_id"]), int(item["time"]) // 1000, message)

    @property
    def text(self) -> str | None:
        return self.raw.get("text")

    @property
    def caption(self) -> str | None:
        return self.raw.get("caption")

    @property
    def kind(self) -> str:
        return next((k for k in ("photo", "document") if k in self.raw), "text")

    @property
    def reply_markup(self) -> dict[str, Any]:
        markup = self.raw.get("reply_markup")
        return markup if isinstance(markup, dict) else {}

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        return self.reply_markup.get("inline_keyboard") or []

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline buttons, row by row, flattened."""
        return [button for row in self.inline_keyboard for button in row]

    @property
    def button_texts(self) -> list[str]:
        """Labels of the inline buttons, or of the reply keyboard when there is no inline one."""
        if self.buttons:
            return [b["text"] for b in self.buttons]
        rows = self.reply_markup.get("keyboard") or []
        return [b if isinstance(b, str) else b["text"] for row in rows for b in row]

    def button(self, label: str) -> dict[str, Any]:
        """The inline button whose text is `label`, or else the only one containing it."""
        exact = [b for b in self.buttons if b.get("text") == label]
        partial = [b for b in self.buttons if label in str(b.get("text"))]
        found = exact or partial
        if len(found) != 1:
            raise AssertionError(f"{'no' if not found else 'several'} inline button(s) matching {label!r} in "
                                 f"message {self.message_id} {self.summary()}; buttons: {self.button_texts}")
        return found[0]

    def as_telegram_message(self, chat: Mapping[str, Any], bot_user: Mapping[str, Any]) -> dict[str, Any]:
        """The message as Telegram would embed it in a callback query or a reply."""
        message: dict[str, Any] = {"message_id": self.message_id, "date": self.date, "chat": dict(chat),
                                   "from": dict(bot_user)}
        for key in ("text", "entities", "caption", "caption_entities", "photo", "document"):
            if self.raw.get(key) is not None:
                message[key] = self.raw[key]
        if self.inline_keyboard:
            message["reply_markup"] = {"inline_keyboard": self.inline_keyboard}
        return message

    def summary(self) -> str:
        body = self.text if self.text is not None else f"[{self.kind}] {self.caption or ''}"
        extra = f" buttons={self.button_texts}" if self.button_texts else ""
        return f"#{self.message_id} {body!r}{extra}"


@dataclass
class SentUpdate:
    """What a `ChatClient` sent; ids the emulator assigned are looked up on first use."""

    client: ChatClient
    kind: str
    nonce: str
    payload: dict[str, Any]
    _entry: dict[str, Any] | None = field(default=None, repr=False)

    def _lookup(self) -> dict[str, Any]:
        if self._entry is None:
            self._entry = self.client._history_entry(self.nonce)
        return self._entry

    @property
    def update_id(self) -> int:
        return int(self._lookup()["updateId"])

    @property
    def message_id(self) -> int:
        """For messages: the message_id the bot saw (the original id for an edit)."""
        if self.kind == "edited_message":
            return int(self.payload["_e2e"]["message_id"])
        return int(self._lookup()["messageId"])

    @property
    def callback_query_id(self) -> str:
        return str(self._lookup()["callbackId"])


class ChatClient:
    """One Telegram user in one chat, driving the bot through the emulator (via the compat proxy)."""

    def __init__(self, user_id: int, first_name: str, language_code: str | None, chat_type: str = "private",
                 *, server_url: str, token: str, http: httpx.Client | None = None, chat_id: int | None = None,
                 username: str | None = None, last_name: str | None = None, chat_title: str | None = None,
                 bot_user: Mapping[str, Any] | None = None,
                 diagnostics: Callable[[], str] | None = None) -> None:
        self.user_id = user_id
        self.token = token
        self.user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username), ("language_code", language_code)):
            if value is not None:
                self.user[key] = value
        if chat_id is None:
            chat_id = user_id if chat_type == "private" else -(1_000_000_000_000 + user_id)
        self.chat_id = chat_id
        self.chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            self.chat.update({k: v for k, v in self.user.items() if k in ("first_name", "last_name", "username")})
        else:
            self.chat["title"] = chat_title or f"Group {abs(chat_id)}"
        self.bot_user = dict(bot_user or {"id": 666, "is_bot": True, "first_name": "Test First name",
                                          "username": BOT_USERNAME})
        self._own_http = http is None
        self.http = http or httpx.Client(base_url=server_url, timeout=DEFAULT_WAIT + 5)
        self.server_url = server_url.rstrip("/")
        self.diagnostics = diagnostics
        self.inbox: list[BotMessage] = []
        self.received: list[BotMessage] = []
        self.last_message: BotMessage | None = None

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def chat_instance(self) -> str:
        """The chat_instance the proxy gives callback queries from this chat."""
        return chat_instance_for(self.token, self.chat_id)

    # ---------------------------------------------------------------- sending
    def _post(self, route: str, body: Mapping[str, Any]) -> None:
        response = self.http.post(f"{self.server_url}{route}", json=body)
        if response.status_code != 200:
            raise AssertionError(f"emulator refused {route}: {response.status_code} {response.text[:300]}")

    def _message(self, fields: Mapping[str, Any], *, kind: str = "message", **meta: Any) -> dict[str, Any]:
        body = {"botToken": self.token, "from": dict(self.user), "chat": dict(self.chat),
                "date": int(time.time()), **fields}
        body["_e2e"] = {"nonce": uuid.uuid4().hex, "kind": kind, **meta}
        return body

    def send_raw(self, fields: Mapping[str, Any], *, files: Mapping[str, bytes] | None = None,
                 reply_to: BotMessage | None = None) -> SentUpdate:
        """Send a message with any fields (sticker, photo, location, voice, contact...) as raw dicts.

        `files` maps file_id -> bytes that getFile/download of that id will return."""
        extra: dict[str, Any] = {}
        if reply_to is not None:
            extra["reply_to_message"] = reply_to.as_telegram_message(self.chat, self.bot_user)
        meta = {"files": {k: base64.b64encode(v).decode() for k, v in (files or {}).items()}} if files else {}
        body = self._message({**fields, **extra}, **meta)
        self._post("/sendMessage", body)
        return SentUpdate(self, "message", body["_e2e"]["nonce"], body)

    def send_text(self, text: str, *, reply_to: BotMessage | None = None) -> SentUpdate:
        return self.send_raw({"text": text}, reply_to=reply_to)

    def send_command(self, command: str, args: str = "") -> SentUpdate:
        """`/command args` with a bot_command entity (in groups the entity covers `/command@Bot` if given)."""
        head = command if command.startswith("/") else f"/{command}"
        text = f"{head} {args}".rstrip() if args else head
        body = self._message({"text": text, "entities": [{"offset": 0, "length": len(head), "type": "bot_command"}]})
        self._post("/sendCommand", body)
        return SentUpdate(self, "message", body["_e2e"]["nonce"], body)

    def send_sticker(self, emoji: str = "👍", **overrides: Any) -> SentUpdate:
        file_id = overrides.pop("file_id", f"sticker-{uuid.uuid4().hex[:8]}")
        sticker = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False, "emoji": emoji, **overrides}
        return self.send_raw({"sticker": sticker})

    def send_photo(self, caption: str | None = None, content: bytes = b"", **overrides: Any) -> SentUpdate:
        file_id = overrides.pop("file_id", f"photo-{uuid.uuid4().hex[:8]}")
        size = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": 90, "height": 90,
                "file_size": len(content), **overrides}
        return self.send_raw({"photo": [size], **({"caption": caption} if caption else {})},
                             files={file_id: content})

    def send_voice(self, duration: int = 3, content: bytes = b"", **overrides: Any) -> SentUpdate:
        file_id = overrides.pop("file_id", f"voice-{uuid.uuid4().hex[:8]}")
        voice = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "duration": duration,
                 "mime_type": "audio/ogg", "file_size": len(content), **overrides}
        return self.send_raw({"voice": voice}, files={file_id: content})

    def send_document(self, file_name: str, content: bytes, mime_type: str = "text/csv",
                      caption: str | None = None) -> SentUpdate:
        file_id = f"document-{uuid.uuid4().hex[:8]}"
        document = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_name": file_name,
                    "mime_type": mime_type, "file_size": len(content)}
        return self.send_raw({"document": document, **({"caption": caption} if caption else {})},
                             files={file_id: content})

    def send_location(self, latitude: float = 31.2304, longitude: float = 121.4737) -> SentUpdate:
        return self.send_raw({"location": {"latitude": latitude, "longitude": longitude}})

    def edit(self, sent: SentUpdate, new_text: str) -> SentUpdate:
        """The user edits a message they sent: the bot gets an `edited_message` with the same message_id."""
        original = sent.payload
        now = int(time.time())
        fields = {k: v for k, v in original.items() if k not in ("botToken", "from", "chat", "_e2e", "date")}
        fields.update({"text": new_text, "date": original.get("date", now)})
        fields.pop("entities", None)
        body = self._message(fields, kind="edited_message", message_id=sent.message_id, edit_date=now)
        body["date"] = original.get("date", now)
        self._post("/sendMessage", body)
        return SentUpdate(self, "edited_message", body["_e2e"]["nonce"], body)

    def press(self, message: BotMessage, label: str) -> SentUpdate:
        """Press the inline button `label` on `message` as it is now (edits included)."""
        current = self.current(message.message_id) or message
        button = current.button(label)
        if "callback_data" not in button:
            raise AssertionError(f"button {label!r} of {current.summary()} has no callback_data: {button}")
        return self._callback(button["callback_data"], current.as_telegram_message(self.chat, self.bot_user))

    def press_data(self, data: str, message: BotMessage | None = None) -> SentUpdate:
        """A callback query with any `data` (forged or stale), on `message` or the last bot message."""
        message = message or self.last_message
        if message is not None:
            attached = message.as_telegram_message(self.chat, self.bot_user)
        else:
            attached = {"message_id": 1, "date": 0, "chat": dict(self.chat)}
        return self._callback(data, attached)

    def _callback(self, data: str, attached: dict[str, Any]) -> SentUpdate:
        nonce = uuid.uuid4().hex
        attached = {**attached, "_e2e": {"nonce": nonce}}
        body = {"botToken": self.token, "from": dict(self.user), "message": attached, "data": data}
        self._post("/sendCallback", body)
        return SentUpdate(self, "callback_query", nonce, body)

    # ---------------------------------------------------------------- reading
    def _history(self) -> list[dict[str, Any]]:
        response = self.http.post(f"{self.server_url}/getUpdatesHistory", json={"token": self.token})
        response.raise_for_status()
        return list(response.json().get("result") or [])

    def _history_entry(self, nonce: str) -> dict[str, Any]:
        for item in self._history():
            message = item.get("message") or (item.get("callbackQuery") or {}).get("message") or {}
            if (message.get("_e2e") or {}).get("nonce") == nonce:
                return item
        raise AssertionError(f"update {nonce} is not in the emulator's history")

    def current(self, message_id: int) -> BotMessage | None:
        """The bot's message as it is now in the emulator (after any edits), or None if deleted/unknown."""
        for item in self._history():
            message = item.get("message") or {}
            if int(item.get("messageId", -1)) == message_id and str(message.get("chat_id")) == str(self.chat_id):
                return BotMessage.from_emulator(item)
        return None

    def _chat_version(self, since: int, timeout: float) -> int:
        response = self.http.get(f"{self.server_url}/_proxy/chat_version",
                                 params={"token": self.token, "chat_id": self.chat_id, "since": since,
                                         "timeout": timeout}, timeout=timeout + 5)
        response.raise_for_status()
        return int(response.json()["result"])

    def _pull(self) -> None:
        response = self.http.post(f"{self.server_url}/getUpdates", json={"token": self.token, "chatId": self.chat_id})
        response.raise_for_status()
        for item in sorted(response.json().get("result") or [], key=lambda i: int(i["messageId"])):
            message = BotMessage.from_emulator(item)
            self.inbox.append(message)
            self.received.append(message)
            self.last_message = message

    def _wait(self, ready: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        version = self._chat_version(-1, 0)
        while True:
            self._pull()
            if ready():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            version = self._chat_version(version, remaining)

    def wait_messages(self, count: int = 1, timeout: float = DEFAULT_WAIT) -> list[BotMessage]:
        """The bot's next `count` messages in this chat (later ones stay queued); fails after `timeout`."""
        if not self._wait(lambda: len(self.inbox) >= count, timeout):
            raise AssertionError(self._report(f"expected {count} bot message(s) in chat {self.chat_id} within "
                                              f"{timeout}s, got {len(self.inbox)}"))
        taken, self.inbox[:] = self.inbox[:count], self.inbox[count:]
        return taken

    def wait_message(self, timeout: float = DEFAULT_WAIT) -> BotMessage:
        return self.wait_messages(1, timeout)[0]

    def wait_for(self, predicate: Callable[[BotMessage], bool], timeout: float = DEFAULT_WAIT,
                 what: str = "a matching bot message") -> BotMessage:
        """Skip queued messages until one satisfies `predicate`; return it (the skipped ones are dropped)."""
        def found() -> bool:
            while self.inbox and not predicate(self.inbox[0]):
                self.inbox.pop(0)
            return bool(self.inbox)
        if not self._wait(found, timeout):
            raise AssertionError(self._report(f"expected {what} in chat {self.chat_id} within {timeout}s"))
        return self.inbox.pop(0)

    def expect_silence(self, window: float = 0.5) -> None:
        """Assert the bot writes nothing more to this chat during `window` seconds (a bounded wait)."""
        self._wait(lambda: bool(self.inbox), window)
        if self.inbox:
            raise AssertionError(self._report(f"expected no bot message in chat {self.chat_id}, got {len(self.inbox)}"))

    def drain(self) -> list[BotMessage]:
        """Whatever bot messages have arrived, without waiting."""
        self._pull()
        taken, self.inbox[:] = list(self.inbox), []
        return taken

    def download(self, file_id: str) -> bytes:
        """Bytes of a file the bot sent (photo, document) as stored by the proxy."""
        response = self.http.get(f"{self.server_url}/_proxy/files/{file_id}")
        if response.status_code != 200:
            raise AssertionError(f"no stored file {file_id!r}: {response.status_code}")
        return response.content

    def _report(self, headline: str) -> str:
        queued = "\n".join(f"  {m.summary()}" for m in self.inbox) or "  (none)"
        seen = "\n".join(f"  {m.summary()}" for m in self.received[-10:]) or "  (none)"
        extra = f"\n{self.diagnostics()}" if self.diagnostics else ""
        return f"{headline}\nqueued (unconsumed) messages:\n{queued}\nlast received in this chat:\n{seen}{extra}"
