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
httpx only; run it in-process with `CompatProxy(emulator_url).start()` or as a script (see `main`). This
module wires the parts together and dispatches bot methods; the parts are proxy_wire (request bodies,
answers), proxy_hub (the shared lock), proxy_emulator (the emulator's HTTP API), proxy_recorder (recorded
calls), proxy_updates (getUpdates), proxy_messages (the bot's messages), proxy_files, proxy_settings
(commands, menu buttons) and proxy_server (HTTP).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import httpx
from proxy_emulator import EmulatorClient
from proxy_files import FileStore, StoredFile
from proxy_hub import Hub
from proxy_messages import DEFAULT_BOT_USER, BotMessages
from proxy_recorder import ApiCall, CallRecorder
from proxy_server import ProxyServer
from proxy_settings import COMMAND_METHODS, MENU_BUTTON_METHODS, BotSettings
from proxy_updates import UpdateQueue
from proxy_wire import ApiError, Upload, chat_instance_for, decode_form_value, parse_body, parse_request, success

__all__ = ["DEFAULT_BOT_USER", "ApiCall", "ApiError", "CompatProxy", "StoredFile", "chat_instance_for",
           "decode_form_value", "main", "parse_body"]

MAX_LONG_POLL_SECONDS = 30.0
GET_ME_DEFAULTS = {
    "is_bot": True,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
}
LOCAL_TRUE_METHODS = frozenset({"sendChatAction", "setMyDescription", "setMyShortDescription", "setMyName"})


class CompatProxy:
    """The compatibility proxy; `start()` serves it on a background thread, `close()` stops everything."""

    def __init__(self, emulator_url: str, *, host: str = "127.0.0.1", port: int = 0, record: bool = True,
                 max_long_poll: float = MAX_LONG_POLL_SECONDS) -> None:
        self.emulator_url = emulator_url.rstrip("/")
        self.max_long_poll = max_long_poll
        self.errors: list[str] = []
        self._hub = Hub()
        self._emulator = EmulatorClient(self.emulator_url)
        self._files = FileStore(self._hub)
        self._recorder = CallRecorder(self._hub, record)
        self._messages = BotMessages(self._hub, self._emulator, self._files)
        self._updates = UpdateQueue(self._hub, self._emulator, self._messages, self._files, max_long_poll)
        self._settings = BotSettings(self._hub)
        self._server = ProxyServer((host, port), self)
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def record(self) -> bool:
        """Whether every call is kept (off for long benchmarks; calls are still counted)."""
        return self._recorder.record

    @record.setter
    def record(self, value: bool) -> None:
        self._recorder.record = value

    def start(self) -> CompatProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="compat-proxy", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._hub.stop()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.cut_connections()
        self._server.server_close()
        self._emulator.close()

    def __enter__(self) -> CompatProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ test-facing API
    def calls(self, token: str | None = None, method: str | None = None, since: int = 0) -> list[ApiCall]:
        """Recorded calls, oldest first, optionally for one token / method, with `seq > since`."""
        return self._recorder.calls(token, method, since)

    @property
    def last_seq(self) -> int:
        """The `seq` of the newest recorded call (0 before any); pass it as `since` later."""
        return self._recorder.last_seq

    def wait_for_call(self, predicate: Callable[[ApiCall], bool], timeout: float, since: int = 0) -> ApiCall | None:
        """Block (bounded) until a recorded call with `seq > since` satisfies `predicate`; None on timeout."""
        return self._recorder.wait_for_call(predicate, timeout, since)

    def delivered_updates(self, token: str) -> list[dict[str, Any]]:
        """Every update handed to the bot at least once (as patched), by update_id."""
        return self._updates.delivered_updates(token)

    def unanswered_callback_queries(self, token: str) -> list[dict[str, Any]]:
        """Callback queries delivered to the bot for which no answerCallbackQuery call was recorded."""
        answered = {str(c.params.get("callback_query_id")) for c in self.calls(token, "answerCallbackQuery")}
        return [u["callback_query"] for u in self.delivered_updates(token)
                if "callback_query" in u and str(u["callback_query"]["id"]) not in answered]

    def confirmed_offset(self, token: str) -> int:
        """The highest offset the bot has confirmed with getUpdates (updates below it are gone)."""
        return self._updates.confirmed_offset(token)

    def poll_count(self, token: str) -> int:
        """How many getUpdates calls this token has made (counted even when recording is off)."""
        return self._updates.poll_count(token)

    def waiting_polls(self, token: str) -> int:
        """How many getUpdates long-polls of this token are waiting right now."""
        return self._updates.waiting_polls(token)

    def commands(self, token: str, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict]:
        """The command menu the bot set for a scope (default scope) and language ("" = all languages)."""
        return self._settings.commands(token, scope, language_code)

    def file(self, file_id: str) -> StoredFile | None:
        """A stored file by file_id (bot uploads and files users sent), or None."""
        return self._files.get(file_id)

    def register_file(self, file_id: str, content: bytes, filename: str | None = None,
                      mime_type: str | None = None) -> StoredFile:
        """Make getFile and downloads of `file_id` return `content`."""
        return self._files.register(file_id, content, filename, mime_type)

    def wait_chat_change(self, token: str, chat_id: Any, since: int, timeout: float) -> int:
        """Block (bounded) until the chat's version (+1 each time the bot writes to or edits in it) exceeds
        `since`; returns the version then (`since=-1, timeout=0` reads it)."""
        return self._recorder.wait_chat_change(token, chat_id, since, max(0.0, min(timeout, self.max_long_poll)))

    def wake(self) -> None:
        """Tell waiting long-polls that the emulator may hold new updates."""
        self._hub.wake()

    # ------------------------------------------------------- what the server calls
    def note_error(self, where: str, error: BaseException | None) -> None:
        """Keep a proxy failure in `errors` (the e2e fixtures fail the test with it)."""
        text = "".join(traceback.format_exception(error)) if error else "unknown error"
        with self._hub.lock:
            self.errors.append(f"{where}: {text}")

    def forward(self, path: str, body: bytes, content_type: str) -> httpx.Response:
        """Relay one of the emulator's client-side routes unchanged."""
        return self._emulator.forward(path, body, content_type)

    def bot_call(self, token: str, method: str, query: str, content_type: str,
                 body: bytes) -> tuple[int, dict[str, Any]]:
        """Answer (and record) one bot API call: its HTTP status and JSON body."""
        started = time.time()
        files: dict[str, StoredFile] = {}
        params: dict[str, Any] = {}
        try:
            params, uploads = parse_request(query, content_type, body)
            status, payload = self._dispatch(token, method, params, uploads, files)
        except ApiError as error:
            status, payload = error.status, error.payload()
        self._recorder.add(token, method, params, files, status, payload, started)
        return status, payload

    def _dispatch(self, token: str, method: str, params: dict[str, Any], uploads: dict[str, Upload],
                  files: dict[str, StoredFile]) -> tuple[int, dict[str, Any]]:
        if method == "getUpdates":
            return self._updates.get_updates(token, params)
        return 200, success(self._result(token, method, params, uploads, files))

    def _result(self, token: str, method: str, params: dict[str, Any], uploads: dict[str, Upload],
                files: dict[str, StoredFile]) -> Any:
        if method == "getMe":
            result = {**GET_ME_DEFAULTS, **self._emulator.call(token, method, {}), "is_bot": True}
            self._messages.bot_user = {k: result[k] for k in ("id", "is_bot", "first_name", "username")
                                       if k in result}
            return result
        if method == "deleteWebhook":
            self._emulator.call(token, method, params)
            if params.get("drop_pending_updates"):
                self._updates.drop_pending(token)
            return True
        if method in ("sendPhoto", "sendDocument"):
            return self._messages.send_file(token, method, params, uploads, files)
        if method in ("editMessageText", "editMessageReplyMarkup"):
            return self._messages.edit(token, method, params)
        if method in COMMAND_METHODS:
            return self._settings.command_method(token, method, params)
        if method in MENU_BUTTON_METHODS:
            return self._settings.menu_button_method(token, method, params)
        if method == "getFile":
            result = self._files.get_file_result(str(params.get("file_id", "")))
            if result is None:
                raise ApiError(400, "Bad Request: invalid file_id")
            return result
        if method in LOCAL_TRUE_METHODS:
            return True
        if method == "sendMessage":
            return self._messages.send_message(token, params)
        result = self._emulator.call(token, method, params)
        return True if result is None else result


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
