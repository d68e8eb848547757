"""The compat proxy's file store: bytes behind file_ids, for getFile, downloads and the tests.

The emulator keeps no file contents, so the proxy does: a photo or document the bot uploads with
sendPhoto/sendDocument is stored under a fresh `e2e-<kind>-<n>` id (`register_upload`), a file a scripted
user "sends" is stored under the id its message names with the bytes the client attached
(`register_message_files`), and tests can `register` any id themselves. `descriptor` is what Telegram puts
in a message for a stored photo (one size, with the PNG's width and height) or document.
"""

from __future__ import annotations

import base64
import itertools
import zlib
from dataclasses import dataclass
from typing import Any

from proxy_hub import Hub
from proxy_wire import Upload

FILE_KEYS = ("photo", "document", "voice", "audio", "video", "video_note", "animation", "sticker")


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


def unique_id_for(file_id: str) -> str:
    """A stable file_unique_id for a file_id that came without one."""
    return f"u{zlib.crc32(file_id.encode()):x}"


def png_size(content: bytes) -> tuple[int, int]:
    """Width and height of a PNG (charts are PNGs); (0, 0) for anything else."""
    if content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    return 0, 0


class FileStore:
    """Stored files by file_id, guarded by the proxy's lock."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._files: dict[str, StoredFile] = {}
        self._upload_numbers = itertools.count(1)

    def get(self, file_id: str) -> StoredFile | None:
        """A stored file by file_id (bot uploads and files users sent), or None."""
        with self._hub.lock:
            return self._files.get(file_id)

    def register(self, file_id: str, content: bytes, filename: str | None = None,
                 mime_type: str | None = None) -> StoredFile:
        """Make getFile and downloads of `file_id` return `content`."""
        stored = StoredFile(file_id, unique_id_for(file_id), content, filename, mime_type)
        with self._hub.lock:
            self._files[file_id] = stored
        return stored

    def register_upload(self, kind: str, upload: Upload) -> StoredFile:
        """Store a file the bot uploaded, under a fresh file_id."""
        filename, mime_type, content = upload
        return self.register(f"e2e-{kind}-{next(self._upload_numbers)}", content, filename, mime_type)

    def register_message_files(self, message: dict[str, Any], contents: dict[str, str]) -> None:
        """Store the files a user's message names; `contents` maps file_id -> base64 bytes (else empty)."""
        with self._hub.lock:
            for key in FILE_KEYS:
                value = message.get(key)
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, dict) and "file_id" in item and item["file_id"] not in self._files:
                        file_id = str(item["file_id"])
                        content = base64.b64decode(contents[file_id]) if file_id in contents else b""
                        unique = str(item.get("file_unique_id") or unique_id_for(file_id))
                        self._files[file_id] = StoredFile(file_id, unique, content, item.get("file_name"),
                                                          item.get("mime_type"))

    def get_file_result(self, file_id: str) -> dict[str, Any] | None:
        """The result of getFile for `file_id`, or None when nothing is stored under it."""
        stored = self.get(file_id)
        if stored is None:
            return None
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.content), "file_path": stored.file_path}


def descriptor(kind: str, stored: StoredFile) -> Any:
    """The `photo` (a list of sizes) or `document` field of a message carrying `stored`."""
    if kind == "photo":
        width, height = png_size(stored.content)
        return [{"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                 "width": width, "height": height, "file_size": len(stored.content)}]
    document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_name": stored.filename, "mime_type": stored.mime_type, "file_size": len(stored.content)}
    return {k: v for k, v in document.items() if v is not None}
