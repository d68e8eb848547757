"""The shared e2e stack: the Bot API emulator process and the compat proxy in front of it.

`E2EStack.start(log_dir)` runs the emulator (retrying a port clash) and serves a `CompatProxy` for it on
127.0.0.1; a test session shares one stack. Tests isolate themselves with `new_token()` (a fresh bot
token, so no test sees another's updates, messages or recorded calls), point a bot at `api_url`, and
talk to it as a user through `chat(...)`, which makes a `ChatClient` on the stack's HTTP client.
`close()` stops the proxy and the emulator.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from compat_proxy import CompatProxy
from harness_basics import DEFAULT_WAIT
from harness_chat import ChatClient
from harness_processes import EmulatorProcess

_token_numbers = itertools.count(1)


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
