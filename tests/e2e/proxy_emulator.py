"""The compat proxy's client of the `telegram-test-api` emulator: the one place that speaks its HTTP API.

`call` runs a bot method on the emulator's `/bot<token>/<method>` route and turns any refusal (an HTTP
error, `ok: false`, or an answer that is not JSON) into a Telegram-style `ApiError`; `stored_bot_message`
finds a message the bot sent in the emulator's history (to check edits against it); `forward` relays the
client-side routes (`/sendMessage`, `/sendCommand`, `/sendCallback`, `/getUpdates`, `/getUpdatesHistory`)
unchanged.
"""

from __future__ import annotations

from typing import Any

import httpx
from proxy_wire import ApiError

EMULATOR_TIMEOUT_SECONDS = 10.0


class EmulatorClient:
    """An HTTP client of the emulator at `url`; `close()` releases its connections."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=EMULATOR_TIMEOUT_SECONDS)

    def close(self) -> None:
        self._http.close()

    def call(self, token: str, method: str, params: dict[str, Any]) -> Any:
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

    def stored_bot_message(self, token: str, chat_id: Any, message_id: Any) -> dict[str, Any] | None:
        """The bot's message `message_id` in `chat_id` as the emulator stores it now, or None."""
        response = self._http.post("/getUpdatesHistory", json={"token": token})
        for item in response.json().get("result") or []:
            message = item.get("message") or {}
            if ("chat_id" in message and str(item.get("messageId")) == str(message_id)
                    and str(message["chat_id"]) == str(chat_id)):
                return {**message, "message_id": item["messageId"], "date": item.get("time")}
        return None

    def forward(self, path: str, body: bytes, content_type: str) -> httpx.Response:
        """Relay a client-side route as it came."""
        return self._http.post(path, content=body, headers={"Content-Type": content_type})
