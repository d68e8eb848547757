"""The compat proxy's store of bot settings the emulator lacks: command menus and chat menu buttons.

setMyCommands, deleteMyCommands and getMyCommands keep one command list per bot token, scope and
language (the scope defaults to `{"type": "default"}`, the language to "" = all); setChatMenuButton and
getChatMenuButton keep one menu button per token and chat ("" = the default for every chat, which is
`{"type": "commands"}` until the bot sets one). Answers are copies, so callers cannot change the store.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from proxy_hub import Hub
from proxy_wire import ApiError

COMMAND_METHODS = frozenset({"setMyCommands", "deleteMyCommands", "getMyCommands"})
MENU_BUTTON_METHODS = frozenset({"setChatMenuButton", "getChatMenuButton"})


def commands_key(scope: Any, language_code: str) -> str:
    """The store key of a (scope, language) pair."""
    scope = scope if isinstance(scope, dict) else {"type": "default"}
    return json.dumps([scope, language_code or ""], sort_keys=True)


class BotSettings:
    """Command lists and menu buttons per bot token, guarded by the proxy's lock."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._commands: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self._menu_buttons: dict[str, dict[str, dict[str, Any]]] = {}

    def commands(self, token: str, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict]:
        """The command menu the bot set for a scope (default scope) and language ("" = all languages)."""
        with self._hub.lock:
            return copy.deepcopy(self._commands.get(token, {}).get(commands_key(scope, language_code), []))

    def command_method(self, token: str, method: str, params: dict[str, Any]) -> Any:
        """The result of setMyCommands, deleteMyCommands or getMyCommands."""
        key = commands_key(params.get("scope"), str(params.get("language_code") or ""))
        with self._hub.lock:
            stored = self._commands.setdefault(token, {})
            if method == "setMyCommands":
                commands = params.get("commands")
                if not isinstance(commands, list):
                    raise ApiError(400, "Bad Request: commands must be a JSON array")
                stored[key] = commands
                return True
            if method == "deleteMyCommands":
                stored.pop(key, None)
                return True
            return copy.deepcopy(stored.get(key, []))

    def menu_button_method(self, token: str, method: str, params: dict[str, Any]) -> Any:
        """The result of setChatMenuButton or getChatMenuButton."""
        key = str(params.get("chat_id", ""))
        with self._hub.lock:
            buttons = self._menu_buttons.setdefault(token, {})
            if method == "setChatMenuButton":
                buttons[key] = params.get("menu_button") or {"type": "default"}
                return True
            return copy.deepcopy(buttons.get(key, buttons.get("", {"type": "commands"})))
