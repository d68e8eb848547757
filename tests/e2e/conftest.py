"""Pytest fixtures of the end-to-end tests; every test collected under tests/e2e is marked `e2e`.

`e2e_stack` (session) runs the Bot API emulator and the compat proxy once; it fails, not skips, with the
command to run when node_modules/telegram-test-api is missing. Per test, `bot_token` is fresh (so tests never
see each other's updates, messages or recorded calls), `database_url` is the bot's DATABASE_URL — a new
SQLite file, and for a test that names `database_url` itself (it looks into the database) also a new PostgreSQL
database (tests/databases.py; skipped without TEST_POSTGRES_URL), `start_bot(...)` starts bot processes (the real `bot.py run` by default) and kills whatever is still running
at teardown, `make_chat(...)` makes `ChatClient`s whose timeout reports include the bot's recent API calls
and log, and `echo_bot` is the bare PTB echo bot already polling.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest
from harness import ECHO_BOT, BotProcess, ChatClient, E2EStack, bot_environment, emulator_install_problem

from tests.databases import BACKENDS, plain_url

E2E_ROOT = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_ROOT in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that names `database_url` runs on every backend; the others (the bot needs a database, the test
    does not look at it) run on SQLite only — see `database_backend`."""
    if "database_url" in inspect.signature(metafunc.function).parameters:
        metafunc.parametrize("database_backend", BACKENDS, indirect=True)


class StartBot(Protocol):
    def __call__(self, *, env: Mapping[str, str] | None = None, argv: tuple[str, ...] = ("bot.py", "run"),
                 wait_ready: bool = True, token: str | None = None) -> BotProcess: ...


class MakeChat(Protocol):
    def __call__(self, user_id: int, first_name: str = "Tester", language_code: str | None = "zh",
                 chat_type: str = "private", **kwargs: Any) -> ChatClient: ...


@pytest.fixture(scope="session")
def e2e_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EStack]:
    problem = emulator_install_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    stack = E2EStack.start(tmp_path_factory.mktemp("e2e-stack"))
    try:
        yield stack
    finally:
        stack.close()


@pytest.fixture
def bot_token(e2e_stack: E2EStack) -> Iterator[str]:
    """A fresh token; teardown fails the test if the compat proxy itself broke while serving it."""
    yield e2e_stack.new_token()
    errors = list(e2e_stack.proxy.errors)
    e2e_stack.proxy.errors.clear()
    assert not errors, "the compat proxy itself failed:\n" + "\n".join(errors)


@pytest.fixture
def database_backend(request: pytest.FixtureRequest) -> str:
    """Overrides tests/conftest.py's: parametrised by `pytest_generate_tests` above, else SQLite."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def database_url(blank_database_url: str) -> str:
    """The bot's DATABASE_URL as a user writes it (sqlite:///… or postgresql://…); the bot migrates it itself."""
    return plain_url(blank_database_url)


@pytest.fixture
def started_bots() -> Iterator[list[BotProcess]]:
    """Every BotProcess a test started; teardown kills any still running."""
    bots: list[BotProcess] = []
    yield bots
    for bot in bots:
        bot.kill_quietly()


@pytest.fixture
def start_bot(e2e_stack: E2EStack, bot_token: str, database_url: str, tmp_path: Path,
              started_bots: list[BotProcess]) -> Iterator[StartBot]:
    """`start_bot(env=..., argv=("bot.py", "run"), wait_ready=True, token=None) -> BotProcess`."""

    def start(*, env: Mapping[str, str] | None = None, argv: tuple[str, ...] = ("bot.py", "run"),
              wait_ready: bool = True, token: str | None = None) -> BotProcess:
        token = token or bot_token
        environment = bot_environment(token, e2e_stack.api_url, database_url, env)
        log_path = tmp_path / f"bot-{len(started_bots) + 1}.log"
        bot = BotProcess(e2e_stack.proxy, token, environment, log_path, argv)
        started_bots.append(bot)
        return bot.start(wait_ready=wait_ready)

    yield start


@pytest.fixture
def make_chat(e2e_stack: E2EStack, bot_token: str, started_bots: list[BotProcess]) -> Iterator[MakeChat]:
    """`make_chat(user_id, first_name="Tester", language_code="zh", chat_type="private", **kw) -> ChatClient`."""
    clients: list[ChatClient] = []

    def diagnostics_for(token: str) -> Callable[[], str]:
        def describe() -> str:
            bots = [bot for bot in started_bots if bot.token == token]
            if bots:
                return bots[-1].describe()
            calls = e2e_stack.proxy.calls(token)[-15:]
            return "no bot process started for this token; last calls:\n" + "\n".join(c.brief() for c in calls)
        return describe

    def make(user_id: int, first_name: str = "Tester", language_code: str | None = "zh",
             chat_type: str = "private", **kwargs: Any) -> ChatClient:
        token = kwargs.pop("token", bot_token)
        kwargs.setdefault("diagnostics", diagnostics_for(token))
        client = e2e_stack.chat(token, user_id, first_name, language_code, chat_type, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def echo_bot(start_bot: StartBot) -> BotProcess:
    """The bare PTB echo bot (tests/e2e/echo_bot.py), polling the proxy with this test's token."""
    return start_bot(argv=(str(ECHO_BOT),))
