"""The compat proxy's view of the bot's own messages: what the bot sends and edits, returned as Telegram would.

The emulator answers sendMessage with its stored record (dates in milliseconds, `chat_id` instead of a
chat, no `from`); `clean` turns such a record into a Telegram `Message` from the bot (whose identity,
`bot_user`, getMe updates) in the real chat (as remembered from users' updates, or made up from the id),
keeping the first date a message had. `edit` checks, as Telegram does, that the message exists and that
something changes, drops the keyboard when none is passed, and returns the edited message; `send_file`
stores the photo or document the bot uploaded and delivers it to the chat as a message.
"""

from __future__ import annotations

import time
from typing import Any

from proxy_emulator import EmulatorClient
from proxy_files import FileStore, StoredFile, descriptor
from proxy_hub import Hub
from proxy_wire import INTEGER, ApiError, Upload, to_seconds

DEFAULT_BOT_USER = {"id": 666, "is_bot": True, "first_name": "Test First name", "username": "TestNameBot"}
MESSAGE_CONTENT_KEYS = ("text", "entities", "caption", "caption_entities", "photo", "document", "has_protected_content")
CHAT_KEYS = ("id", "type", "title", "username", "first_name", "last_name", "is_forum")
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")


def keyboard(message: dict[str, Any]) -> Any:
    """The inline keyboard rows of a message (empty when it has none)."""
    markup = message.get("reply_markup")
    return (markup.get("inline_keyboard") or []) if isinstance(markup, dict) else []


class BotMessages:
    """Known chats, first dates of the bot's messages and the bot's identity, guarded by the proxy's lock."""

    def __init__(self, hub: Hub, emulator: EmulatorClient, files: FileStore) -> None:
        self._hub = hub
        self._emulator = emulator
        self._files = files
        self._chats: dict[tuple[str, str], dict[str, Any]] = {}
        self._dates: dict[tuple[str, str, int], int] = {}
        self.bot_user: dict[str, Any] = dict(DEFAULT_BOT_USER)

    def remember_chat(self, token: str, chat: Any) -> None:
        """Keep a chat seen in a user's update, so the bot's messages there carry it."""
        if isinstance(chat, dict) and "id" in chat:
            with self._hub.lock:
                self._chats[(token, str(chat["id"]))] = {k: v for k, v in chat.items() if k in CHAT_KEYS}

    def chat(self, token: str, chat_id: Any) -> dict[str, Any]:
        """The chat as remembered, or a private chat (positive id) or supergroup made up from the id."""
        with self._hub.lock:
            known = self._chats.get((token, str(chat_id)))
        if known:
            return dict(known)
        numeric = int(chat_id) if INTEGER.fullmatch(str(chat_id)) else 0
        if numeric > 0:
            return {"id": numeric, "type": "private", "first_name": f"User {numeric}"}
        return {"id": numeric, "type": "supergroup", "title": f"Chat {chat_id}"}

    def clean(self, token: str, raw: dict[str, Any], *, edit_date: int | None = None) -> dict[str, Any]:
        """A Telegram `Message` from the bot out of the emulator's record of it."""
        chat_id = raw.get("chat_id", (raw.get("chat") or {}).get("id"))
        message_id = int(raw["message_id"])
        key = (token, str(chat_id), message_id)
        with self._hub.lock:
            date = self._dates.setdefault(key, to_seconds(raw.get("date")))
        message: dict[str, Any] = {"message_id": message_id, "from": dict(self.bot_user), "date": date,
                                   "chat": self.chat(token, chat_id)}
        if edit_date is not None:
            message["edit_date"] = edit_date
        for name in MESSAGE_CONTENT_KEYS:
            if raw.get(name) is not None:
                message[name] = raw[name]
        markup = raw.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            message["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        return message

    def send_message(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        """sendMessage through the emulator, answered with a clean message."""
        return self.clean(token, self._emulator.call(token, "sendMessage", params))

    def edit(self, token: str, method: str, params: dict[str, Any]) -> Any:
        """editMessageText / editMessageReplyMarkup with Telegram's checks; the edited message (or True)."""
        if params.get("inline_message_id"):
            return True
        if "chat_id" not in params or "message_id" not in params:
            raise ApiError(400, "Bad Request: chat_id and message_id are required")
        before = self._emulator.stored_bot_message(token, params["chat_id"], params["message_id"])
        if before is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        forward = dict(params)
        forward.setdefault("reply_markup", {"inline_keyboard": []})
        new_text = forward.get("text", before.get("text"))
        if new_text == before.get("text") and keyboard(forward) == keyboard(before):
            raise ApiError(400, NOT_MODIFIED)
        self._emulator.call(token, method, forward)
        after = self._emulator.stored_bot_message(token, params["chat_id"], params["message_id"]) or before
        return self.clean(token, after, edit_date=int(time.time()))

    def send_file(self, token: str, method: str, params: dict[str, Any],
                  uploads: dict[str, Upload], files: dict[str, StoredFile]) -> Any:
        """sendPhoto / sendDocument: store the file (noted in `files`) and send it to the chat."""
        kind = "photo" if method == "sendPhoto" else "document"
        value = params.pop(kind, None)
        name = value.removeprefix("attach://") if isinstance(value, str) and value.startswith("attach://") else kind
        if name in uploads:
            stored = self._files.register_upload(kind, uploads[name])
        elif isinstance(value, str) and value:
            stored = self._files.get(value) or self._files.register(value, b"", value.rsplit("/", 1)[-1] or None, None)
        else:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        files[kind] = stored
        return self.send_message(token, {**params, kind: descriptor(kind, stored)})
