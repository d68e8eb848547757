"""The compat proxy's wire format: decoding Bot API request bodies and shaping Telegram-style answers.

A bot built on python-telegram-bot 22 sends its parameters as JSON, as a form or as multipart (with
uploaded files); `parse_body` turns any of them back into JSON-typed params plus the uploaded parts,
`decode_form_value` decides per parameter whether a form value is JSON or a plain string (so a text of
"123" stays a string while a chat_id becomes an int). `ApiError` is a Telegram error the proxy answers
with, and `success`/`failure` build the `{"ok": ...}` envelopes every answer uses. The small converters
shared by the proxy's parts also live here: emulator dates in milliseconds to Telegram's seconds, and a
stable `chat_instance` per (bot, chat).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import time
import urllib.parse
import zlib
from typing import Any

# Parameters whose form value is a plain string even when it looks like JSON ("123", "true").
STRING_PARAMS = frozenset({
    "text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "data", "url", "emoji", "title",
    "description", "short_description", "name", "file_id", "action", "language_code", "secret_token",
    "business_connection_id", "message_effect_id", "query", "next_offset", "question", "address",
    "phone_number", "first_name", "last_name", "vcard", "custom_title", "ip_address", "certificate",
    "photo", "document", "audio", "video", "voice", "animation", "video_note", "sticker", "thumbnail",
})
ID_PARAMS = frozenset({"chat_id", "from_chat_id", "user_id"})
INTEGER = re.compile(r"-?\d+")

Upload = tuple[str | None, str | None, bytes]  # (filename, mime type, content) of one multipart file part


class ApiError(Exception):
    """A Telegram-style error answer: HTTP status and description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description

    def payload(self) -> dict[str, Any]:
        """The answer's body."""
        return failure(self.status, self.description)


def success(result: Any) -> dict[str, Any]:
    """The body of a successful Bot API answer."""
    return {"ok": True, "result": result}


def failure(status: int, description: str) -> dict[str, Any]:
    """The body of a failed Bot API answer, as Telegram writes it."""
    return {"ok": False, "error_code": status, "description": description}


def decode_form_value(name: str, value: str) -> Any:
    """Turn one form-encoded Bot API parameter back into its JSON type, as PTB encoded it."""
    if name in ID_PARAMS:
        return int(value) if INTEGER.fullmatch(value) else value
    if name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Decode a Bot API request body (JSON, form-encoded or multipart) into params and uploaded parts."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}, {}
    if ctype == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise ApiError(400, "Bad Request: the request body is not valid JSON") from None
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


def parse_request(query: str, content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Params and uploads of a bot call: the body's, plus URL query parameters the body does not set."""
    params, uploads = parse_body(content_type, body)
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        params.setdefault(name, decode_form_value(name, value))
    return params, uploads


def to_seconds(value: Any) -> int:
    """Telegram dates are Unix seconds; the emulator writes milliseconds for bot messages."""
    if not isinstance(value, int | float) or value <= 0:
        return int(time.time())
    return int(value // 1000) if value > 100_000_000_000 else int(value)


def chat_instance_for(token: str, chat_id: Any) -> str:
    """A stable stand-in for Telegram's opaque chat_instance: one value per (bot, chat)."""
    return str(zlib.crc32(f"{token}:{chat_id}".encode()) * 1_000_003)
