"""Hostile input, property-based: thousands of random updates through the real PTB Application.

Hypothesis builds updates of every kind — private, group, supergroup and channel messages, edits, stickers,
photos, locations, contacts, commands known and unknown with odd arguments, texts of random Unicode,
control characters, emoji only, empty, blank, and up to Telegram's 4,096 characters, callback queries with
forged, stale, oversized or well-formed data (also naming another user's drill), inline queries and chat
member changes — from a small crowd of users (one of them an admin, so the trainer commands run too) and
from strangers. Each goes through `Application.process_update` in this process, with every Bot API call made
over HTTP to the Bot API emulator behind the compat proxy, on a real SQLite file. For every update: no
handler raises anything but a domain error (an extra error handler records any other); every callback query
is answered exactly once; a private message gets at least one non-empty answer in its own chat; a group gets
an answer only to a command, a channel never; the bot writes to no other chat; and no other user's rows
(their user row, drills, exchanges, memberships, overrides) change — least of all those of a bystander
trainee who has a drill open and one finished.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

from channels.telegram.flood import FloodLimiter
from config import load_settings
from dialogs.base import DrillError

E2E_DIR = Path(__file__).resolve().parent / "e2e"
sys.path.insert(0, str(E2E_DIR))  # the e2e harness modules import each other by their bare names
from harness import E2EStack, emulator_install_problem  # noqa: E402

pytestmark = pytest.mark.e2e  # it runs against the Bot API emulator
EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "2500"))
BYSTANDER = 4242
ADMIN = 5001
CROWD = [ADMIN, 5002, 5003, 5004, 5005]
BOT_NAME = "TestNameBot"  # the emulator's bot
COMMANDS = ["start", "help", "lang", "drill", "end", "me", "rumour", "price", "visit", "newteam", "invite", "team",
            "trainee", "transcript", "override", "export", "heatmap", "passmark", "leaderboard", "schedule",
            "frobnicate", "", "start@OtherBot", f"drill@{BOT_NAME}", "DRILL", "end@"]
ACTIONS = ["start", "pick", "persona", "level", "objection", "guessmenu", "guess", "back", "end", "again", "lang",
           "override", "assigned", "hack"]
EMOJI = "😀🎯🔥💰📈📉🗣👍🏽👨‍👩‍👧‍👦🇨🇳❤️‍🔥🫠"
WORDS = ["fatalist", "aggressive", "deliberate", "relational", "caring", "beginner", "advanced", "surprise",
         "security", "candor", "zh", "en", "rumour", "price", "visit", "mon", "09:00", "Asia/Shanghai", "off",
         "48h", "-1", "0", "999999999999", "100", "安全感", "热键"]
update_ids = itertools.count(1)


# -- what the updates are made of -------------------------------------------------------------------
unicode_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=120)  # Telegram's JSON has no lone surrogates
control_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x9F, exclude_categories=("Cs",)), max_size=40)
texts = st.one_of(
    unicode_text,
    control_text,
    st.just(""),
    st.sampled_from([" ", "\n\n", "\t", "\u200b", "\u202e", "\ufeff"]),
    st.text(st.sampled_from(EMOJI), min_size=1, max_size=30),
    st.builds(lambda head, fill: (head + fill * 4096)[:4096], unicode_text, st.sampled_from("x热😀 \n")),
    st.builds(lambda fill, n: fill * n, st.sampled_from("ab热"), st.integers(995, 1010)),  # around the reply limit
    st.sampled_from(["我们先小范围试点，出了问题我们兜底负责。", "Could we book a pilot next Tuesday?", "价格太高了",
                     "You are the decision maker here, everyone will see it."]),
)
arguments = st.lists(st.one_of(st.sampled_from(WORDS), unicode_text.filter(lambda s: s.strip() != "")), max_size=4)


@st.composite
def users(draw) -> dict[str, Any]:
    user_id = draw(st.one_of(st.sampled_from(CROWD), st.integers(10_000, 2**40)))  # the crowd, or strangers
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": draw(unicode_text)[:20] or "x"}
    language = draw(st.sampled_from([None, "zh", "zh-hans", "en", "en-GB", "de", "", "xx-ZZ-ZZ"]))
    if language is not None:
        user["language_code"] = language
    if draw(st.booleans()):
        user["username"] = draw(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{4,31}", fullmatch=True))
    return user


@st.composite
def chats(draw, user: dict[str, Any]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["private", "private", "private", "group", "supergroup"]))
    if kind == "private":
        return {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    return {"id": -draw(st.integers(1, 10**12)), "type": kind, "title": draw(unicode_text) or "g"}


@st.composite
def message_content(draw) -> dict[str, Any]:
    kind = draw(st.sampled_from(["text", "text", "text", "command", "command", "sticker", "photo", "location",
                                 "contact", "voice", "document"]))
    if kind == "text":
        return {"text": draw(texts)}
    if kind == "command":
        name = draw(st.sampled_from(COMMANDS))
        head = f"/{name}"
        args = draw(arguments)
        text = " ".join([head, *args])[:4096]
        return {"text": text, "entities": [{"type": "bot_command", "offset": 0, "length": len(head)}]}
    file = {"file_id": f"f{draw(st.integers(0, 10**6))}", "file_unique_id": "u"}
    if kind == "sticker":
        return {"sticker": {**file, "type": "regular", "width": 512, "height": 512, "is_animated": False,
                            "is_video": False, "emoji": draw(st.sampled_from(EMOJI))}}
    if kind == "photo":
        return {"photo": [{**file, "width": 90, "height": 90}], "caption": draw(texts)[:1024]}
    if kind == "location":
        return {"location": {"latitude": draw(st.floats(-90, 90)), "longitude": draw(st.floats(-180, 180))}}
    if kind == "contact":
        return {"contact": {"phone_number": draw(st.from_regex(r"\+?[0-9]{3,15}", fullmatch=True)),
                            "first_name": draw(unicode_text) or "c"}}
    if kind == "voice":
        return {"voice": {**file, "duration": draw(st.integers(0, 3600))}}
    return {"document": {**file, "file_name": draw(unicode_text) or "d.txt"}, "caption": draw(texts)[:1024]}


def callback_data(bystander_drill: int) -> st.SearchStrategy[str]:
    drill_ids = st.one_of(st.just(0), st.just(bystander_drill), st.integers(1, 40), st.integers(0, 10**12))
    values = st.one_of(st.sampled_from(WORDS + ["fatalist:beginner", "rumour:rumour_blacklist", "price:x", ""]),
                       unicode_text)
    structured = st.builds(lambda a, d, v: f"{a}|{d}|{v}", st.sampled_from(ACTIONS), drill_ids, values)
    return st.one_of(structured, unicode_text, st.text(min_size=65, max_size=300), st.just(""))


@dataclass(frozen=True)
class Expect:
    """What the bot must do for one update."""

    kind: str  # private | group | group_command | channel | callback | silent
    chat_id: int | None
    user_id: int | None
    callback_id: str | None = None


@st.composite
def hostile_updates(draw, bystander_drill: int) -> tuple[dict[str, Any], Expect]:
    update_id = next(update_ids)
    kind = draw(st.sampled_from(["message"] * 6 + ["edited_message"] * 2 + ["callback_query"] * 4 +
                                ["channel_post", "edited_channel_post", "inline_query", "my_chat_member"]))
    user = draw(users())
    if kind in ("message", "edited_message"):
        chat = draw(chats(user))
        message = {"message_id": draw(st.integers(1, 10**6)), "date": 1_700_000_000, "chat": chat, "from": user,
                   **draw(message_content())}
        if kind == "edited_message":
            message["edit_date"] = 1_700_000_100
        if chat["type"] == "private":
            expect = Expect("private", chat["id"], user["id"])
        else:
            is_command = bool(message.get("entities"))  # an edited command is a command too
            expect = Expect("group_command" if is_command else "group", chat["id"], user["id"])
        return {"update_id": update_id, kind: message}, expect
    if kind in ("channel_post", "edited_channel_post"):
        chat = {"id": -draw(st.integers(10**12, 2 * 10**12)), "type": "channel", "title": "news"}
        post = {"message_id": draw(st.integers(1, 10**6)), "date": 1_700_000_000, "chat": chat, "sender_chat": chat,
                **draw(message_content())}
        if kind == "edited_channel_post":
            post["edit_date"] = 1_700_000_100
        return {"update_id": update_id, kind: post}, Expect("channel", chat["id"], None)
    if kind == "callback_query":
        query_id = f"cq{update_id}"
        query: dict[str, Any] = {"id": query_id, "from": user, "chat_instance": "ci",
                                 "data": draw(callback_data(bystander_drill))}
        if draw(st.integers(0, 9)):  # mostly on a message of ours; sometimes an inline message
            chat = draw(chats(user))
            query["message"] = {"message_id": draw(st.integers(1, 10**6)), "date": 1_700_000_000, "chat": chat,
                                "from": {"id": 666, "is_bot": True, "first_name": "Bot", "username": BOT_NAME},
                                "text": "🗣 …"}
            chat_id = chat["id"]
        else:
            query["inline_message_id"] = "im"
            chat_id = None
        return {"update_id": update_id, "callback_query": query}, Expect("callback", chat_id, user["id"], query_id)
    if kind == "inline_query":
        return ({"update_id": update_id, "inline_query": {"id": f"iq{update_id}", "from": user,
                                                           "query": draw(unicode_text), "offset": ""}},
                Expect("silent", None, user["id"]))
    member = {"user": {"id": 666, "is_bot": True, "first_name": "Bot"}, "status": "kicked", "until_date": 0}
    return ({"update_id": update_id, "my_chat_member": {
        "chat": {"id": user["id"], "type": "private", "first_name": "x"}, "from": user, "date": 1_700_000_000,
        "old_chat_member": {**member, "status": "member"}, "new_chat_member": member}},
        Expect("silent", None, user["id"]))


# -- the application under test ---------------------------------------------------------------------
@dataclass
class Rig:
    """The running application, its loop, the stack it talks to, and what it got wrong."""

    stack: E2EStack
    token: str
    application: Any
    loop: asyncio.AbstractEventLoop
    db_path: str
    errors: list[BaseException]
    bystander_drill: int
    fingerprints: dict[int, str] | None = None  # as the last update left them (nothing else writes meanwhile)

    def process(self, data: dict[str, Any]) -> None:
        update = Update.de_json(data, self.application.bot)
        self.loop.run_until_complete(self.application.process_update(update))


def fingerprints(db_path: str) -> dict[int, str]:
    """A digest of each user's own rows: the user, their drills with exchanges, memberships and overrides."""
    queries = {
        "users": "SELECT id, id, first_name, username, language, active FROM users",
        "drills": "SELECT user_id, id, kind, mode, persona, state, data, score, ended_at FROM drill_sessions",
        "exchanges": "SELECT d.user_id, e.id, e.seq, e.speaker, e.text, e.points FROM exchanges e "
                     "JOIN drill_sessions d ON d.id = e.session_id",
        "memberships": "SELECT user_id, team_id, role FROM memberships",
        "overrides": "SELECT d.user_id, o.id, o.new_score FROM score_overrides o JOIN drill_sessions d ON d.id = o.drill_id",
    }
    digests: dict[int, hashlib._Hash] = {}
    connection = sqlite3.connect(db_path)
    try:
        for name, sql in queries.items():
            for row in connection.execute(sql + " ORDER BY 1, 2"):
                digests.setdefault(row[0], hashlib.sha256()).update(repr((name, row)).encode())
    finally:
        connection.close()
    return {user: digest.hexdigest() for user, digest in digests.items()}


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, services) -> Iterator[Rig]:
    from bot import build_application
    from storage.migrate import upgrade

    problem = emulator_install_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    folder = tmp_path_factory.mktemp("hostile")
    stack = E2EStack.start(folder)
    loop = asyncio.new_event_loop()
    application = None
    try:
        token = stack.new_token()
        settings = load_settings(_env_file=None, telegram_bot_token=token, telegram_api_url=stack.api_url,
                                 database_url=f"sqlite:///{folder / 'hostile.db'}", admin_ids=str(ADMIN))
        upgrade(settings.database_url)
        application = build_application(settings, services)
        application.bot_data.flood = FloodLimiter(10**6, 1)  # floods have their own test: here every update is read
        errors: list[BaseException] = []

        async def record(update: object, context) -> None:
            if not isinstance(context.error, DrillError):  # a domain error carries its own text for the user
                errors.append(context.error)

        application.add_error_handler(record)
        loop.run_until_complete(application.initialize())
        rig = Rig(stack, token, application, loop, str(folder / "hostile.db"), errors, 0)
        bystander = {"id": BYSTANDER, "is_bot": False, "first_name": "Bystander", "language_code": "zh"}
        chat = {"id": BYSTANDER, "type": "private", "first_name": "Bystander"}
        script = ["/drill fatalist beginner", "我们先小范围试点，出了问题我们兜底负责。", "/end", "/drill caring beginner",
                  "坦白说，我们的产品也有不足。"]
        for number, text in enumerate(script, start=1):
            message = {"message_id": number, "date": 1_700_000_000, "chat": chat, "from": bystander, "text": text}
            if text.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            rig.process({"update_id": next(update_ids), "message": message})
        connection = sqlite3.connect(rig.db_path)
        try:
            (rig.bystander_drill,) = connection.execute(
                "SELECT id FROM drill_sessions WHERE user_id = ? AND ended_at IS NULL", (BYSTANDER,)).fetchone()
        finally:
            connection.close()
        assert not errors, errors
        yield rig
    finally:
        if application is not None:
            loop.run_until_complete(application.shutdown())
            loop.run_until_complete(application.bot_data.coach.store.close())
        loop.close()
        stack.close()


def check(rig: Rig, data: dict[str, Any], expect: Expect, since: int) -> None:
    before, after = rig.fingerprints, fingerprints(rig.db_path)
    rig.fingerprints = after  # first, so that a failed check does not blame the next update for this one's changes
    changed = {user for user in before.keys() | after.keys() if before.get(user) != after.get(user)}
    calls = rig.stack.proxy.calls(rig.token, since=since)
    assert not rig.errors, f"a handler raised {rig.errors[0]!r} for {data}"
    failed = [c.brief() for c in calls if c.status >= 400]
    assert not failed, f"Bot API calls failed for {data}: {failed}"
    targets = {str(c.params["chat_id"]) for c in calls if "chat_id" in c.params}
    assert targets <= {str(expect.chat_id)}, f"wrote to {targets}, not only to chat {expect.chat_id}, for {data}"
    sends = [c for c in calls if c.method in ("sendMessage", "sendPhoto", "sendDocument")]
    assert all(str(c.params.get("text", "x")).strip() for c in sends), f"an empty message for {data}"
    if expect.kind == "callback":
        answers = [c for c in calls if c.method == "answerCallbackQuery"]
        assert [c.params.get("callback_query_id") for c in answers] == [expect.callback_id], (
            f"callback query answered {len(answers)} times for {data}")
    elif expect.kind in ("private", "group_command"):
        assert sends, f"no answer to {data}"
    else:
        assert not sends, f"answered {[c.brief() for c in sends]} to {data}"
    assert changed <= {expect.user_id}, f"{data} changed the data of users {changed - {expect.user_id}}"


def test_random_updates_of_every_kind_get_a_clear_answer_and_touch_no_one_else(rig):
    rig.fingerprints = fingerprints(rig.db_path)
    bystander_before = rig.fingerprints[BYSTANDER]

    @settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=hostile_updates(rig.bystander_drill))
    def one_update(case: tuple[dict[str, Any], Expect]) -> None:
        data, expect = case
        since = rig.stack.proxy.last_seq
        rig.errors.clear()
        rig.process(data)
        check(rig, data, expect, since)

    one_update()
    assert fingerprints(rig.db_path)[BYSTANDER] == bystander_before
