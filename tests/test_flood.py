"""The per-user flood limit on an injected clock: the limiter's sliding window, and the guard in the real
PTB Application (in process, over HTTP against the Bot API emulator and compat proxy) answering a flood once,
politely and in the user's language, reading nothing more until the window passes, never touching the drill.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram import Update

from channels.telegram.flood import FloodLimiter, Verdict
from config import load_settings

E2E_DIR = Path(__file__).resolve().parent / "e2e"
sys.path.insert(0, str(E2E_DIR))  # the e2e harness modules import each other by their bare names
from harness import E2EStack, emulator_install_problem  # noqa: E402

pytestmark = pytest.mark.e2e  # the application tests below run against the Bot API emulator


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the limiter ------------------------------------------------------------------------------------
def test_up_to_the_limit_everything_is_read():
    clock = Clock()
    limiter = FloodLimiter(3, 10, clock)
    assert [limiter.check(1) for _ in range(3)] == [Verdict.ALLOW] * 3


def test_past_the_limit_one_warning_then_silence_until_the_window_passes():
    clock = Clock()
    limiter = FloodLimiter(3, 10, clock)
    for _ in range(3):
        limiter.check(1)
        clock.now += 1
    assert limiter.check(1) is Verdict.WARN  # t=1003: three in the last 10 s
    assert limiter.retry_after(1) == 7  # the first one (t=1000) leaves the window at t=1010
    assert [limiter.check(1) for _ in range(5)] == [Verdict.DROP] * 5
    clock.now = 1009.5
    assert limiter.check(1) is Verdict.DROP
    clock.now = 1010.0
    assert limiter.check(1) is Verdict.ALLOW  # the oldest has left the window; the warning is reset
    assert limiter.check(1) is Verdict.WARN  # t=1001 and t=1002 and t=1010 fill it again


def test_dropped_updates_do_not_extend_the_pause():
    clock = Clock()
    limiter = FloodLimiter(2, 5, clock)
    limiter.check(1), limiter.check(1)
    for _ in range(50):  # a flood of dropped updates over 4.9 s
        limiter.check(1)
        clock.now += 0.098
    clock.now = 1005.0
    assert limiter.check(1) is Verdict.ALLOW


def test_users_are_counted_apart():
    clock = Clock()
    limiter = FloodLimiter(1, 60, clock)
    assert limiter.check(1) is Verdict.ALLOW
    assert limiter.check(1) is Verdict.WARN
    assert limiter.check(2) is Verdict.ALLOW


def test_idle_users_are_forgotten():
    clock = Clock()
    limiter = FloodLimiter(5, 10, clock)
    for user in range(2000):
        limiter.check(user)
    assert limiter.tracked() == 2000  # all of them active: the sweep at 1024 kept them and now waits for 2048
    clock.now += 11
    for user in range(5000, 5100):
        limiter.check(user)
    assert limiter.tracked() == 100  # the sweep at 2048 tracked users dropped the 2000 idle ones


@pytest.mark.parametrize(("messages", "seconds"), [(0, 10), (5, 0)])
def test_a_limit_that_reads_nothing_is_refused(messages, seconds):
    with pytest.raises(ValueError, match=f"got {messages}, {seconds}"):
        FloodLimiter(messages, seconds)


def test_the_settings_have_defaults_and_read_the_environment(monkeypatch):
    defaults = load_settings(_env_file=None)
    assert (defaults.flood_messages, defaults.flood_seconds) == (20, 30)
    monkeypatch.setenv("FLOOD_MESSAGES", "5")
    monkeypatch.setenv("FLOOD_SECONDS", "12")
    settings = load_settings(_env_file=None)
    assert (settings.flood_messages, settings.flood_seconds) == (5, 12)


# -- the guard in the real application --------------------------------------------------------------
@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EStack]:
    problem = emulator_install_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    stack = E2EStack.start(tmp_path_factory.mktemp("flood-stack"))
    try:
        yield stack
    finally:
        stack.close()


def private_text(update_id: int, user_id: int, text: str, language: str) -> dict:
    user = {"id": user_id, "is_bot": False, "first_name": "Flood", "language_code": language}
    message = {"message_id": update_id, "date": 1_700_000_000, "text": text, "from": user,
               "chat": {"id": user_id, "type": "private", "first_name": "Flood"}}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def sent_texts(stack: E2EStack, token: str, since: int) -> list[tuple[int, str]]:
    return [(int(c.params["chat_id"]), c.params["text"]) for c in stack.proxy.calls(token, "sendMessage", since)]


async def test_a_flood_is_answered_once_in_the_users_language_and_not_read(stack, tmp_path, services):
    from bot import build_application
    from storage.migrate import upgrade

    database_url = f"sqlite:///{tmp_path / 'flood.db'}"
    token = stack.new_token()
    settings = load_settings(_env_file=None, telegram_bot_token=token, telegram_api_url=stack.api_url,
                             database_url=database_url, flood_messages=4, flood_seconds=60)
    await asyncio.to_thread(upgrade, settings.database_url)
    application = build_application(settings, services)
    clock = Clock()
    application.bot_data.flood = FloodLimiter(settings.flood_messages, settings.flood_seconds, clock)
    await application.initialize()
    try:
        async def send(update_id: int, user_id: int, text: str, language: str = "en") -> list[tuple[int, str]]:
            since = stack.proxy.last_seq
            update = Update.de_json(private_text(update_id, user_id, text, language), application.bot)
            await application.process_update(update)
            return sent_texts(stack, token, since)

        assert len(await send(1, 7001, "/drill fatalist beginner")) == 2  # the scenario card and the opening
        replies = [await send(n, 7001, f"We can pilot it first, reply {n}.") for n in range(2, 5)]
        assert all(len(r) >= 1 for r in replies)
        warned = await send(5, 7001, "one more")
        assert warned == [(7001, "You're sending messages faster than I can read them, so I'm pausing for 60 "
                                 "seconds. Messages sent in the meantime are not read; after that, carry on where "
                                 "you were — your drill is safe.")]
        assert [await send(n, 7001, "and more") for n in range(6, 9)] == [[], [], []]
        assert len(await send(9, 7002, "/start", "zh")) == 1  # another user is not held back
        clock.now += 30
        zh = [await send(n, 7002, "/help", "zh") for n in range(10, 14)]
        assert zh[-1] == [(7002, "你发消息的速度太快了，我先暂停 30 秒。这段时间里发的消息不会被读取；"
                                 "之后接着之前的对话继续就好——你的练习都保存着。")]  # 7002's first came at t=1000
        clock.now += 30
        assert len(await send(14, 7001, "Back again: shall we fix the pilot site next Tuesday?")) >= 1
    finally:
        await application.shutdown()
        await application.bot_data.coach.store.close()
    connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    try:
        users = dict(connection.execute("SELECT id, language FROM users").fetchall())
        processed = [row[0] for row in connection.execute("SELECT update_id FROM processed_updates ORDER BY 1")]
        trainee = [row[0] for row in connection.execute("SELECT text FROM exchanges WHERE speaker = 'trainee'")]
    finally:
        connection.close()
    assert users == {7001: "en", 7002: "zh"}
    assert processed == [1, 2, 3, 4, 14]  # the drill's start and replies; nothing the flood held back
    assert trainee[:3] == [f"We can pilot it first, reply {n}." for n in range(2, 5)] and len(trainee) == 4
