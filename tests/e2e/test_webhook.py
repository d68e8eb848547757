"""End to end: the bot as a webhook worker (`bot.py run --webhook ...`), its own process, over real HTTP.

Updates are posted to the worker as Telegram would, with the secret token header; the worker answers
once it has processed them, so its replies are at the emulator by then. A request without the secret,
or with a wrong one, gets 403 and changes nothing (no user row, no message) — while the same update
with the right secret does. /healthz reports the database and the job lock. A missing or short
WEBHOOK_SECRET (or a plain-http URL) stops the worker at start with a message naming the variable. On
PostgreSQL (a fresh database on the server TEST_POSTGRES_URL names; CI exports it), two workers serve
one bot: exactly one holds the job lock and runs the weekly jobs, and when it is killed the other takes over.
"""

from __future__ import annotations

import itertools
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from dbrows import rows
from harness import BOT_READY_TIMEOUT, HOST, BotProcess, ChatClient, free_port, wait_until

pytestmark = pytest.mark.e2e
URL = "https://coach.example.test/telegram/updates"
PATH = "/telegram/updates"
_update_ids = itertools.count(1)


@dataclass
class Worker:
    """A webhook worker process and an HTTP client that talks to it as Telegram (or an intruder) would."""

    process: BotProcess
    port: int
    secret: str
    http: httpx.Client

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def post(self, update: dict[str, Any], secret: str | None = "right", path: str = PATH) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.secret if secret == "right" else secret
        return self.http.post(f"{self.base}{path}", json=update, headers=headers)

    def health(self) -> dict[str, Any]:
        response = self.http.get(f"{self.base}/healthz")
        assert response.status_code == 200, response.text
        return response.json()


def webhook_argv(port: int) -> tuple[str, ...]:
    return ("bot.py", "run", "--webhook", "--listen", HOST, "--port", str(port), "--url", URL)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0) as client:
        yield client


@pytest.fixture
def start_worker(start_bot, e2e_stack, http):
    """`start_worker(env=None, secret=None) -> Worker`, returned once the worker has set its webhook (which it
    does only after its server listens)."""
    def start(env: dict[str, str] | None = None, secret: str | None = None) -> Worker:
        port, secret = free_port(), secret or secrets.token_hex(32)
        since = e2e_stack.proxy.last_seq
        process = start_bot(argv=webhook_argv(port), env={"WEBHOOK_SECRET": secret, **(env or {})},
                            wait_ready=False)
        process.wait_call("setWebhook", timeout=BOT_READY_TIMEOUT, since=since)
        return Worker(process, port, secret, http)
    return start


def message_update(chat: ChatClient, text: str) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": next(_update_ids), "date": int(time.time()), "chat": dict(chat.chat),
                               "from": dict(chat.user), "text": text}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": next(_update_ids), "message": message}


def callback_update(chat: ChatClient, data: str, message) -> dict[str, Any]:
    return {"update_id": next(_update_ids),
            "callback_query": {"id": f"cb-{next(_update_ids)}", "from": dict(chat.user), "data": data,
                               "chat_instance": chat.chat_instance,
                               "message": message.as_telegram_message(chat.chat, chat.bot_user)}}


def sent_to(worker: Worker, chat_id: int) -> list:
    return [c for c in worker.process.calls("sendMessage") if str(c.params.get("chat_id")) == str(chat_id)]


def test_updates_with_the_secret_are_processed_and_answered(start_worker, make_chat, database_url):
    worker = start_worker()
    (hook,) = worker.process.calls("setWebhook")
    assert hook.params["secret_token"] == worker.secret and hook.params["url"] == URL
    assert worker.process.calls("getUpdates") == []  # a webhook worker never polls
    chat = make_chat(7001, "小王", "zh-hans")

    answer = worker.post(message_update(chat, "/start"))
    assert (answer.status_code, answer.json()) == (200, {"ok": True})
    welcome = chat.wait_message()
    assert "热键教练" in welcome.text and "小王" in welcome.text

    pressed = worker.post(callback_update(chat, welcome.button("开始一次练习")["callback_data"], welcome))
    assert pressed.status_code == 200
    card, opening = chat.wait_messages(2)
    assert card.text.startswith("📋 拜访准备") and opening.text.startswith("🗣")
    assert worker.process.unanswered_callback_queries() == []
    assert len(worker.process.calls("answerCallbackQuery")) == 1

    assert worker.post(message_update(chat, "我们先做一个站点的试点，出了问题由我们兜底负责。")).status_code == 200
    assert chat.wait_message().text.startswith("🗣")
    ((drills, exchanges),) = rows(database_url, "SELECT count(DISTINCT d.id), count(e.id) FROM drill_sessions d "
                                                "JOIN exchanges e ON e.session_id = d.id WHERE d.user_id = ?", 7001)
    assert drills == 1 and exchanges >= 3


def test_requests_without_the_right_secret_get_403_and_change_nothing(start_worker, make_chat, database_url):
    worker = start_worker()
    chat = make_chat(7002, "Intruded", "en")
    forged = message_update(chat, "/start")
    one_off = worker.secret[:10] + ("a" if worker.secret[10] != "a" else "b") + worker.secret[11:]
    wrong = ["0" * 64, worker.secret[:-1], worker.secret + "x", worker.secret.upper(), one_off, ""]
    for secret in [None, *wrong]:
        answer = worker.post(forged, secret=secret)
        assert (answer.status_code, answer.json()) == (403, {"ok": False, "error": "forbidden"}), secret
    assert rows(database_url, "SELECT count(*) FROM users WHERE id = ?", 7002) == [(0,)]
    assert sent_to(worker, 7002) == []

    assert worker.post(forged, path="/elsewhere").status_code == 404
    assert worker.http.get(f"{worker.base}{PATH}").status_code == 405
    assert worker.post({"not": "an update"}).status_code == 400
    for junk in (b"", b"null", b"[1, 2]", b"{not json"):
        response = worker.http.post(f"{worker.base}{PATH}", content=junk,
                                    headers={"X-Telegram-Bot-Api-Secret-Token": worker.secret})
        assert response.status_code == 400, (junk, response.text)

    assert worker.post(forged).status_code == 200  # the very same update, with the secret, does change things
    assert "Hot Button Coach" in chat.wait_message().text
    assert rows(database_url, "SELECT count(*) FROM users WHERE id = ?", 7002) == [(1,)]
    assert len(sent_to(worker, 7002)) == 1


def test_healthz_reports_database_and_job_lock(start_worker):
    worker = start_worker()
    assert worker.health() == {"ok": True, "database": True, "job_lock": True}  # SQLite: one process, always
    assert worker.process.stop() == 0  # SIGTERM: drains, stops, exits cleanly
    assert "Application.stop() complete" in worker.process.log_text()


@pytest.mark.parametrize(("url", "secret", "expected"), [
    (URL, "", "WEBHOOK_SECRET is not set"),
    (URL, "tooshort", "WEBHOOK_SECRET=<hidden>: must be 32 to 256 characters"),
    ("http://coach.example.test/hook", "s" * 40, "WEBHOOK_URL='http://coach.example.test/hook': must be an https:// URL"),
])
def test_bad_webhook_settings_stop_the_worker_at_start(start_bot, url, secret, expected):
    argv = ("bot.py", "run", "--webhook", "--listen", HOST, "--port", str(free_port()), "--url", url)
    bot = start_bot(argv=argv, env={"WEBHOOK_SECRET": secret}, wait_ready=False)
    assert bot.process.wait(timeout=BOT_READY_TIMEOUT) == 2
    log = bot.log_text()
    assert "configuration error:" in log and expected in log, log
    assert "tooshort" not in log and "s" * 40 not in log
    assert bot.calls() == []  # it stopped before talking to Telegram


@pytest.mark.parametrize("database_backend", ["postgres"], indirect=True)  # a fresh database; skips without a server
def test_two_workers_on_postgres_one_runs_the_jobs_and_the_other_takes_over(start_worker, make_chat):
    env = {"WEBHOOK_LOCK_RETRY_SECONDS": "1"}
    first = start_worker(env)
    second = start_worker(env, secret=first.secret)
    assert first.health() == {"ok": True, "database": True, "job_lock": True}
    assert second.health() == {"ok": True, "database": True, "job_lock": False}
    assert "this worker holds the job lock" in first.process.log_text()
    assert "holds the job lock" not in second.process.log_text()

    chat = make_chat(7003, "Both", "en")  # either worker serves updates
    assert second.post(message_update(chat, "/start")).status_code == 200
    assert "Hot Button Coach" in chat.wait_message().text

    first.process.process.send_signal(signal.SIGKILL)
    assert first.process.process.wait(timeout=10) == -signal.SIGKILL
    wait_until(lambda: second.health()["job_lock"], 20.0,
               lambda: f"the second worker did not take the job lock over\n{second.process.describe()}")
    assert "this worker holds the job lock" in second.process.log_text()
    assert second.post(message_update(chat, "/help")).status_code == 200  # and it still serves updates
    assert chat.wait_message().text
