"""A scripted Telegram user: `ChatClient` plays one user in one chat against the bot under test.

It sends through the emulator's client routes (via the compat proxy): text, commands with their
bot_command entity, button presses (also forged or stale callback data), stickers, photos, voice notes,
documents, locations, any other message as a raw dict (with file bytes the bot can download) and edits
of its own messages; each send returns a `SentUpdate` that looks up the ids the emulator assigned on
first use. It reads the bot's messages in its chat with bounded waits that wake as soon as the bot
writes there (the proxy's chat-version long-poll, never a fixed sleep) and fails with an assertion that
lists what did arrive, plus the test's diagnostics. `speaker` adds another member to a group chat.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from compat_proxy import DEFAULT_BOT_USER, chat_instance_for
from harness_basics import DEFAULT_WAIT, listing
from harness_messages import BotMessage


def _file_ids(kind: str, overrides: dict[str, Any]) -> dict[str, str]:
    """The file_id (`overrides["file_id"]`, taken out, or a fresh `<kind>-xxxxxxxx`) and its file_unique_id."""
    file_id = overrides.pop("file_id", f"{kind}-{uuid.uuid4().hex[:8]}")
    return {"file_id": file_id, "file_unique_id": f"u-{file_id}"}


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
        self.bot_user = dict(bot_user or DEFAULT_BOT_USER)
        self._own_http = http is None
        self.http = http or httpx.Client(base_url=server_url, timeout=DEFAULT_WAIT + 5)
        self.server_url = server_url.rstrip("/")
        self.diagnostics = diagnostics
        self.inbox: list[BotMessage] = []
        self.received: list[BotMessage] = []
        self.last_message: BotMessage | None = None

    def speaker(self, user_id: int, first_name: str, language_code: str | None = None,
                username: str | None = None) -> ChatClient:
        """Another member of this (group) chat; it shares this client's inbox, so either can wait."""
        other = ChatClient(user_id, first_name, language_code, self.chat["type"], server_url=self.server_url,
                           token=self.token, http=self.http, chat_id=self.chat_id, username=username,
                           chat_title=self.chat.get("title"), bot_user=self.bot_user, diagnostics=self.diagnostics)
        other.chat = self.chat
        other.inbox, other.received = self.inbox, self.received
        return other

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

    def _send(self, route: str, body: dict[str, Any]) -> SentUpdate:
        """Post a body `_message` built; what was sent, as a `SentUpdate` of its kind."""
        self._post(route, body)
        return SentUpdate(self, body["_e2e"]["kind"], body["_e2e"]["nonce"], body)

    def send_raw(self, fields: Mapping[str, Any], *, files: Mapping[str, bytes] | None = None,
                 reply_to: BotMessage | None = None) -> SentUpdate:
        """Send a message with any fields (sticker, photo, location, voice, contact...) as raw dicts.

        `files` maps file_id -> bytes that getFile/download of that id will return."""
        extra: dict[str, Any] = {}
        if reply_to is not None:
            extra["reply_to_message"] = reply_to.as_telegram_message(self.chat, self.bot_user)
        meta = {"files": {k: base64.b64encode(v).decode() for k, v in (files or {}).items()}} if files else {}
        return self._send("/sendMessage", self._message({**fields, **extra}, **meta))

    def send_text(self, text: str, *, reply_to: BotMessage | None = None) -> SentUpdate:
        return self.send_raw({"text": text}, reply_to=reply_to)

    def send_command(self, command: str, args: str = "") -> SentUpdate:
        """`/command args` with a bot_command entity (in groups the entity covers `/command@Bot` if given)."""
        head = command if command.startswith("/") else f"/{command}"
        text = f"{head} {args}".rstrip() if args else head
        entity = {"offset": 0, "length": len(head), "type": "bot_command"}
        return self._send("/sendCommand", self._message({"text": text, "entities": [entity]}))

    def send_sticker(self, emoji: str = "👍", **overrides: Any) -> SentUpdate:
        sticker = {**_file_ids("sticker", overrides), "type": "regular", "width": 512, "height": 512,
                   "is_animated": False, "is_video": False, "emoji": emoji, **overrides}
        return self.send_raw({"sticker": sticker})

    def send_photo(self, caption: str | None = None, content: bytes = b"", **overrides: Any) -> SentUpdate:
        size = {**_file_ids("photo", overrides), "width": 90, "height": 90, "file_size": len(content), **overrides}
        return self.send_raw({"photo": [size], **({"caption": caption} if caption else {})},
                             files={size["file_id"]: content})

    def send_voice(self, duration: int = 3, content: bytes = b"", **overrides: Any) -> SentUpdate:
        voice = {**_file_ids("voice", overrides), "duration": duration, "mime_type": "audio/ogg",
                 "file_size": len(content), **overrides}
        return self.send_raw({"voice": voice}, files={voice["file_id"]: content})

    def send_document(self, file_name: str, content: bytes, mime_type: str = "text/csv",
                      caption: str | None = None) -> SentUpdate:
        document = {**_file_ids("document", {}), "file_name": file_name, "mime_type": mime_type,
                    "file_size": len(content)}
        return self.send_raw({"document": document, **({"caption": caption} if caption else {})},
                             files={document["file_id"]: content})

    def send_location(self, latitude: float = 31.2304, longitude: float = 121.4737) -> SentUpdate:
        return self.send_raw({"location": {"latitude": latitude, "longitude": longitude}})

    def edit(self, sent: SentUpdate, new_text: str) -> SentUpdate:
        """The user edits a message they sent: the bot gets an `edited_message` with the same message_id."""
        original = sent.payload
        now = int(time.time())
        fields = {k: v for k, v in original.items() if k not in ("botToken", "from", "chat", "_e2e", "entities")}
        body = self._message({**fields, "text": new_text}, kind="edited_message", message_id=sent.message_id,
                             edit_date=now)
        return self._send("/sendMessage", body)

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
        return self._take(count)

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
        return self._take(len(self.inbox))

    def _take(self, count: int) -> list[BotMessage]:
        """Remove and return the first `count` queued messages (the inbox list is shared with speakers)."""
        taken, self.inbox[:] = self.inbox[:count], self.inbox[count:]
        return taken

    def download(self, file_id: str) -> bytes:
        """Bytes of a file the bot sent (photo, document) as stored by the proxy."""
        response = self.http.get(f"{self.server_url}/_proxy/files/{file_id}")
        if response.status_code != 200:
            raise AssertionError(f"no stored file {file_id!r}: {response.status_code}")
        return response.content

    def _report(self, headline: str) -> str:
        queued = listing(m.summary() for m in self.inbox)
        seen = listing(m.summary() for m in self.received[-10:])
        extra = f"\n{self.diagnostics()}" if self.diagnostics else ""
        return f"{headline}\nqueued (unconsumed) messages:\n{queued}\nlast received in this chat:\n{seen}{extra}"
