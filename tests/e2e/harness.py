"""Reusable pieces of the end-to-end tests, gathered under one name: import them from here.

`E2EStack.start()` runs the Bot API emulator (node, tests/e2e/emulator.js) and the `CompatProxy` in front
of it on 127.0.0.1 (harness_stack); `BotProcess` runs a bot (`python bot.py run` by default) against the
proxy with the environment `bot_environment` gives, and stops and restarts it (harness_processes);
`ChatClient` plays one user in one chat, sending and waiting for the bot's messages with bounded waits
that wake when the bot writes to the chat (harness_chat), which it reads as `BotMessage`s
(harness_messages); `wait_until` and `free_port` are the shared basics (harness_basics). Recorded bot API
calls are read from the proxy (`stack.proxy.calls(...)`, `BotProcess.calls(...)`). Every process, socket
and file opened by these modules is closed by the matching `close`/`stop`.
"""

from __future__ import annotations

from harness_basics import DEFAULT_WAIT, E2E_DIR, HOST, REPO_ROOT, free_port, wait_until
from harness_chat import ChatClient, SentUpdate
from harness_messages import BotMessage
from harness_processes import (
    BOT_READY_TIMEOUT,
    BOT_STOP_TIMEOUT,
    ECHO_BOT,
    EMULATOR_PACKAGE,
    EMULATOR_SCRIPT,
    BotProcess,
    EmulatorProcess,
    bot_environment,
    emulator_install_problem,
)
from harness_stack import E2EStack

__all__ = [
    "BOT_READY_TIMEOUT", "BOT_STOP_TIMEOUT", "DEFAULT_WAIT", "E2E_DIR", "ECHO_BOT", "EMULATOR_PACKAGE",
    "EMULATOR_SCRIPT", "HOST", "REPO_ROOT", "BotMessage", "BotProcess", "ChatClient", "E2EStack",
    "EmulatorProcess", "SentUpdate", "bot_environment", "emulator_install_problem", "free_port", "wait_until",
]
