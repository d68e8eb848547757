"""Self-test of the end-to-end harness: the emulator's gaps are real, and the proxy and clients mend them.

The echo bot (a real PTB 22 Application in its own process) starts against the compat proxy and echoes a
user's message; a button press reaches it as a callback query with chat_instance and is answered; restarts
(SIGTERM and SIGKILL) do not replay confirmed updates nor lose ones sent while it was down; getUpdates
honours offset, limit and long-poll timeout; every mended answer and every raw update kind parses as PTB
objects; recorded calls are visible in-process and over HTTP; bounded waits fail with a report of what came.
"""

from __future__ import annotations

import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from harness import E2EStack, emulator_install_problem, wait_until
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MenuButtonCommands, Message
from telegram.constants import ChatAction
from telegram.error import BadRequest

pytestmark = pytest.mark.e2e


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A valid RGB PNG of the given size, made without any image library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def ptb_bot(stack: E2EStack, token: str) -> Bot:
    return Bot(token, base_url=f"{stack.api_url}/bot", base_file_url=f"{stack.api_url}/file/bot")


def test_missing_emulator_package_fails_with_the_command_to_run(tmp_path):
    problem = emulator_install_problem(tmp_path / "node_modules" / "telegram-test-api")

    assert problem is not None and "run `npm ci` in" in problem and "telegram-test-api 4.2.1" in problem


def test_the_emulator_alone_has_the_gaps_the_proxy_mends(e2e_stack, bot_token):
    user = {"id": 9, "is_bot": False, "first_name": "Raw"}
    chat = {"id": 9, "type": "private", "first_name": "Raw"}
    with httpx.Client(base_url=e2e_stack.emulator.url, timeout=5) as emulator:
        me = emulator.post(f"/bot{bot_token}/getMe").json()["result"]
        commands = emulator.post(f"/bot{bot_token}/setMyCommands", data={"commands": "[]"})
        sent = emulator.post(f"/bot{bot_token}/sendMessage", data={"chat_id": "9", "text": "hi"}).json()["result"]
        edited = emulator.post(f"/bot{bot_token}/editMessageText",
                               data={"chat_id": "9", "message_id": str(sent["message_id"]), "text": "ho"}).json()
        emulator.post("/sendMessage", json={"botToken": bot_token, "from": user, "chat": chat, "date": 1, "text": "x"})
        emulator.post("/sendCallback", json={"botToken": bot_token, "from": user, "data": "d",
                                             "message": {"message_id": sent["message_id"], "chat": chat, "date": 1}})
        updates = emulator.post(f"/bot{bot_token}/getUpdates", data={"offset": "999999"}).json()["result"]

    assert "is_bot" not in me
    assert commands.status_code == 500
    assert sent["date"] > 100_000_000_000  # milliseconds
    assert edited["result"] is None
    assert len(updates) == 2, "getUpdates should ignore an offset beyond every update"
    assert "chat_instance" not in updates[1]["callback_query"]


def test_echo_bot_echoes_a_user_message_and_calls_are_recorded(e2e_stack, echo_bot, make_chat, bot_token):
    chat = make_chat(4242, "Alice", "en")

    chat.send_text("hello 你好 123")
    reply = chat.wait_message()

    assert reply.text == "hello 你好 123"
    assert [c.params.get("is_bot") for c in echo_bot.calls("getMe")] == [None]
    assert echo_bot.calls("getMe")[0].result["is_bot"] is True
    (call,) = echo_bot.calls("sendMessage")
    assert call.params == {"chat_id": 4242, "text": "hello 你好 123"}
    assert call.result["from"]["is_bot"] is True
    assert call.result["chat"] == {"id": 4242, "type": "private", "first_name": "Alice"}
    assert abs(call.result["date"] - time.time()) < 60
    assert echo_bot.failed_calls() == []
    over_http = e2e_stack.http.get("/_proxy/calls", params={"token": bot_token, "method": "sendMessage"}).json()
    assert [c["params"]["text"] for c in over_http["result"]] == ["hello 你好 123"]


def test_a_button_press_reaches_the_bot_with_chat_instance_and_is_answered(echo_bot, make_chat):
    chat = make_chat(5151, "Bob", "zh")

    chat.send_command("keyboard")
    menu = chat.wait_message()
    pressed = chat.press(menu, "B")
    report = chat.wait_message()
    forged = chat.press_data("forged:1")
    forged_report = chat.wait_message()

    assert menu.text == "pick one" and menu.button_texts == ["A", "B"]
    assert report.text == f"callback data=b chat_instance={chat.chat_instance}"
    assert forged_report.text == f"callback data=forged:1 chat_instance={chat.chat_instance}"
    answered = [c.params["callback_query_id"] for c in echo_bot.calls("answerCallbackQuery")]
    assert answered == [pressed.callback_query_id, forged.callback_query_id]
    echo_bot.assert_callbacks_answered(timeout=1)
    assert echo_bot.wait_call("sendMessage", lambda c: "forged" in c.params["text"], timeout=1).ok


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_a_restart_neither_replays_confirmed_updates_nor_loses_new_ones(e2e_stack, echo_bot, make_chat, kill):
    chat = make_chat(6161, "Carol", "en")
    first = chat.send_text("one")
    assert chat.wait_message().text == "one"
    wait_until(lambda: e2e_stack.proxy.confirmed_offset(echo_bot.token) > first.update_id, 10,
               "the bot never confirmed the first update with a later offset")

    code = echo_bot.stop(kill=kill)
    chat.send_text("while down")
    echo_bot.start()
    chat.send_text("two")

    assert code == (-9 if kill else 0), echo_bot.describe()
    assert [m.text for m in chat.wait_messages(2)] == ["while down", "two"]
    assert echo_bot.failed_calls() == []


def test_get_updates_honours_offset_limit_and_long_poll(e2e_stack, bot_token, make_chat):
    chat = make_chat(7171, "Dan", "en")

    def get_updates(**params: object) -> httpx.Response:
        return e2e_stack.http.post(f"/bot{bot_token}/getUpdates", data={k: str(v) for k, v in params.items()})

    chat.send_text("first")
    (update,) = get_updates(timeout=0).json()["result"]
    redelivered = get_updates(offset=0, timeout=0).json()["result"]
    after_confirm = get_updates(offset=update["update_id"] + 1, timeout=0).json()["result"]
    after_restart = get_updates(offset=0, timeout=0).json()["result"]
    assert update["message"]["text"] == "first" and "botToken" not in update["message"]
    assert [u["update_id"] for u in redelivered] == [update["update_id"]]
    assert after_confirm == [] and after_restart == []

    with ThreadPoolExecutor(max_workers=1) as pool:
        started = time.monotonic()
        waiting = pool.submit(get_updates, offset=update["update_id"] + 1, timeout=20)
        wait_until(lambda: e2e_stack.proxy.waiting_polls(bot_token) == 1, 5, "the long-poll never started waiting")
        chat.send_text("second")
        woken = waiting.result(timeout=10).json()["result"]
        assert [u["message"]["text"] for u in woken] == ["second"]
        assert time.monotonic() - started < 5, "a long-poll must return as soon as an update arrives"

        superseded = pool.submit(get_updates, offset=woken[0]["update_id"] + 1, timeout=20)
        wait_until(lambda: e2e_stack.proxy.waiting_polls(bot_token) == 1, 5, "the long-poll never started waiting")
        assert get_updates(offset=woken[0]["update_id"] + 1, timeout=0).json() == {"ok": True, "result": []}
        assert superseded.result(timeout=10).status_code == 409

    started = time.monotonic()
    assert get_updates(offset=woken[0]["update_id"] + 1, timeout=0.3).json()["result"] == []
    assert 0.3 <= time.monotonic() - started < 3
    for text in ("a", "b", "c"):
        chat.send_text(text)
    assert [u["message"]["text"] for u in get_updates(limit=2, timeout=0).json()["result"]] == ["a", "b"]
    e2e_stack.http.post(f"/bot{bot_token}/deleteWebhook", data={"drop_pending_updates": "true"})
    assert get_updates(offset=0, timeout=0).json()["result"] == []


async def test_every_raw_update_kind_parses_as_ptb_objects(e2e_stack, bot_token, make_chat):
    chat = make_chat(8181, "Eve", "zh", username="eve")
    group = make_chat(8182, "Fay", "en", chat_type="group", chat_title="Team")
    colleague = group.speaker(8183, "Gil", "zh")
    first = chat.send_text("hi")
    chat.send_command("start", "ref42")
    chat.send_sticker("🔥")
    chat.send_photo("my chart", content=b"photo-bytes")
    chat.send_location(31.0, 121.0)
    voice = chat.send_voice(4, content=b"OggS-voice")
    chat.send_document("plan.csv", b"a,b\n")
    chat.edit(first, "hi again")
    chat.press_data("stale:1")
    group.send_text("group hello")
    colleague.send_text("我也在")

    async with ptb_bot(e2e_stack, bot_token) as bot:
        updates = await bot.get_updates(timeout=0)
        voice_file = await bot.get_file(voice.payload["voice"]["file_id"])
        voice_bytes = bytes(await voice_file.download_as_bytearray())

    assert [u.update_id for u in updates] == sorted({u.update_id for u in updates}) and len(updates) == 11
    text, command, sticker, photo, location, voice_update, document, edited, query, in_group, other = updates
    assert text.message.text == "hi" and text.message.from_user.language_code == "zh"
    assert text.message.date.tzinfo is not None and abs((text.message.date - datetime.now(UTC)).total_seconds()) < 60
    assert command.message.text == "/start ref42" and command.message.entities[0].type == "bot_command"
    assert sticker.message.sticker.emoji == "🔥"
    assert photo.message.photo[0].width == 90 and photo.message.caption == "my chart"
    assert (location.message.location.latitude, location.message.location.longitude) == (31.0, 121.0)
    assert voice_update.message.voice.mime_type == "audio/ogg" and voice_bytes == b"OggS-voice"
    assert document.message.document.file_name == "plan.csv"
    assert edited.edited_message.message_id == first.message_id and edited.edited_message.text == "hi again"
    assert edited.edited_message.edit_date is not None
    assert query.callback_query.data == "stale:1" and query.callback_query.chat_instance == chat.chat_instance
    assert in_group.message.chat.type == "group" and in_group.message.chat.title == "Team"
    assert in_group.message.from_user.id == 8182 and in_group.message.chat.id < 0
    assert other.message.from_user.id == 8183 and other.message.chat.id == in_group.message.chat.id


async def test_every_mended_bot_method_answers_as_telegram_would(e2e_stack, bot_token, make_chat):
    chat = make_chat(9191, "Gus", "en")
    chat.send_text("hello")
    png = tiny_png(3, 2)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])

    async with ptb_bot(e2e_stack, bot_token) as bot:
        assert bot.bot.is_bot is True
        await bot.get_updates(timeout=0)
        assert await bot.set_my_commands([("start", "Start")], language_code="en") is True
        listed = [c.command for c in await bot.get_my_commands(language_code="en")]
        assert await bot.delete_my_commands(language_code="en") is True
        assert await bot.set_chat_menu_button(chat_id=chat.chat_id, menu_button=MenuButtonCommands()) is True
        assert await bot.send_chat_action(chat.chat_id, ChatAction.TYPING) is True
        sent = await bot.send_message(chat.chat_id, "pick", reply_markup=keyboard)
        edited = await bot.edit_message_text("picked", chat_id=chat.chat_id, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("picked", chat_id=chat.chat_id, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="not found"):
            await bot.edit_message_text("x", chat_id=chat.chat_id, message_id=10**9)
        photo = await bot.send_photo(chat.chat_id, png, caption="chart")
        document = await bot.send_document(chat.chat_id, b"a,b\n1,2\n", filename="scores.csv", caption="export")
        photo_file = await bot.get_file(photo.photo[-1].file_id)
        photo_bytes = bytes(await photo_file.download_as_bytearray())
        assert await bot.answer_callback_query("12345") is True

    assert listed == ["start"] and e2e_stack.proxy.commands(bot_token, language_code="en") == []
    assert sent.from_user.is_bot and sent.chat.type == "private" and sent.chat.first_name == "Gus"
    assert abs((sent.date - datetime.now(UTC)).total_seconds()) < 60
    assert isinstance(edited, Message) and edited.text == "picked" and edited.edit_date is not None
    assert edited.reply_markup is None, "editing text without reply_markup drops the keyboard, as in Telegram"
    assert (photo.photo[-1].width, photo.photo[-1].height) == (3, 2) and photo_bytes == png
    assert document.document.file_name == "scores.csv" and document.document.mime_type == "text/csv"
    assert e2e_stack.proxy.file(document.document.file_id).content == b"a,b\n1,2\n"
    received = chat.wait_messages(3)
    assert [(m.kind, m.text or m.caption) for m in received] == [("text", "picked"), ("photo", "chart"),
                                                                  ("document", "export")]
    assert received[0].buttons == []
    assert chat.download(received[2].raw["document"]["file_id"]) == b"a,b\n1,2\n"


def test_waits_fail_with_a_report_of_what_did_arrive(e2e_stack, bot_token, make_chat):
    chat = make_chat(3131, "Hal", "en")
    e2e_stack.http.post(f"/bot{bot_token}/sendMessage", data={"chat_id": "3131", "text": "only one"})

    with pytest.raises(AssertionError) as too_few:
        chat.wait_messages(2, timeout=0.3)
    e2e_stack.http.post(f"/bot{bot_token}/sendMessage", data={"chat_id": "3131", "text": "unexpected"})
    with pytest.raises(AssertionError) as not_silent:
        chat.expect_silence(0.3)

    assert "expected 2 bot message(s) in chat 3131 within 0.3s, got 1" in str(too_few.value)
    assert "'only one'" in str(too_few.value) and "sendMessage" in str(too_few.value)
    assert "expected no bot message in chat 3131, got 2" in str(not_silent.value)
    assert "'unexpected'" in str(not_silent.value)
