"""A message the bot sent, as the scripted user sees it: text, caption, kind and buttons.

`BotMessage` wraps the emulator's record of a bot message (the fields the bot sent, in `raw`) and reads
it the way a test asks: its text or caption, whether it is a photo or a document, its inline buttons
(`buttons`, `button_texts`, `button(label)` which fails clearly when no or several buttons match) or reply
keyboard labels. `as_telegram_message` is the message as Telegram embeds it in a callback query or a
reply, and `summary` is the one-line form failure reports list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
