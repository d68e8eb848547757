"""End to end: the real bot process, over real HTTP, against the Bot API emulator and a real SQLite file.

A trainee plays whole drills in both languages for every persona and level; a SIGKILL mid-drill loses
nothing; odd messages, group chats, forged and stale buttons get clear answers and change nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dbrows import rows

from personas.catalog import DECK_HOT_BUTTONS
from personas.models import LEVELS

pytestmark = pytest.mark.e2e
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def script(persona: str, lang: str, kind: str = "good") -> list[str]:
    return (SCRIPTS / f"{persona}_{lang}_{kind}.txt").read_text(encoding="utf-8").splitlines()




def play_until_debrief(chat, database_url: str, replies: list[str]) -> list:
    """Send replies one by one, each answered by the customer; once the meeting has closed (the drill is
    saved before the bot answers), return the two debrief messages that follow the customer's last line."""
    for reply in replies:
        chat.send_text(reply)
        answer = chat.wait_message()
        assert answer.text.startswith("🗣"), answer.summary()
        (state,) = rows(database_url, "SELECT state FROM drill_sessions ORDER BY id DESC LIMIT 1")[0]
        if state == "debrief":
            return chat.wait_messages(2)
    chat.send_command("end")
    return chat.wait_messages(2)


def test_start_menu_and_a_drill_from_one_tap(start_bot, make_chat):
    bot = start_bot()
    chat = make_chat(1001, "小李", "zh-hans")
    chat.send_command("start")
    welcome = chat.wait_message()
    assert "热键教练" in welcome.text and "小李" in welcome.text
    chat.press(welcome, "开始一次练习")
    card, opening = chat.wait_messages(2)
    assert card.text.startswith("📋 拜访准备")
    assert opening.text.startswith("🗣") and opening.button_texts == ["🔍 说出热键", "⏹ 结束并复盘"]
    assert bot.unanswered_callback_queries() == []
    commands = {c.params.get("language_code"): c.params["commands"] for c in bot.calls("setMyCommands")}
    assert {"zh", "en", None} <= set(commands)
    assert "drill" in str(commands["en"]) and "开始一次练习" in str(commands["zh"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_persona_and_level_plays_to_a_debrief(start_bot, make_chat, database_url, lang):
    start_bot()
    chat = make_chat(2000 + len(lang), "Trainee", lang)
    results = {}
    for persona in DECK_HOT_BUTTONS:
        for level in LEVELS:
            chat.send_command("drill", f"{persona} {level}")
            card, opening = chat.wait_messages(2)
            assert card.text.startswith("📋"), card.summary()
            debrief = play_until_debrief(chat, database_url, script(persona, lang))
            text = "\n".join(m.text for m in debrief)
            assert ("复盘" if lang == "zh" else "Debrief") in text
            results[(persona, level)] = text
    played = rows(database_url, "SELECT persona, level, state, score, identified_at FROM drill_sessions "
                                "WHERE user_id = ? ORDER BY id", 2000 + len(lang))
    assert len(played) == 15 and all(state == "debrief" for _, _, state, _, _ in played)
    assert all(score >= 80 and identified <= 3 for _, _, _, score, identified in played), played
    for persona, level, _, score, _ in played:
        assert f"{score}/100" in results[(persona, level)]
    chat.send_command("me")
    me = chat.wait_message()
    assert ("完成：15" if lang == "zh" else "Finished: 15") in me.text


def test_a_careless_trainee_scores_low_and_sees_why(start_bot, make_chat, database_url):
    start_bot()
    chat = make_chat(3001, "Wang", "zh")
    chat.send_command("drill", "relational beginner")
    chat.wait_messages(2)
    debrief = play_until_debrief(chat, database_url, script("relational", "zh", "careless"))
    (score,) = rows(database_url, "SELECT score FROM drill_sessions WHERE user_id = 3001")[0]
    assert score <= 40
    assert "❌ 识别热键 0/40" in debrief[0].text
    assert "可以试试" in debrief[1].text  # a better reply for the weakest moment


def test_sigkill_mid_drill_loses_nothing_and_resumes(start_bot, make_chat, database_url):
    bot = start_bot()
    chat = make_chat(4001, "Chen", "en")
    chat.send_command("drill", "fatalist beginner")
    chat.wait_messages(2)
    replies = script("fatalist", "en")
    for reply in replies[:2]:
        chat.send_text(reply)
        chat.wait_message()
    before = rows(database_url, "SELECT seq, speaker, text FROM exchanges ORDER BY seq")
    bot.restart(kill=True)
    after = rows(database_url, "SELECT seq, speaker, text FROM exchanges ORDER BY seq")
    assert after == before and [r[1] for r in before].count("trainee") == 2
    debrief = play_until_debrief(chat, database_url, replies[2:])
    trainee = rows(database_url, "SELECT speaker, text FROM exchanges WHERE speaker = 'trainee' ORDER BY seq")
    assert [text for _, text in trainee] == replies[: len(trainee)] and len(trainee) >= 3
    assert "Hot button: security" in debrief[0].text
    (state,) = rows(database_url, "SELECT state FROM drill_sessions")[0]
    assert state == "debrief"


def test_odd_messages_get_clear_answers_and_leave_the_drill_alone(start_bot, make_chat, database_url):
    start_bot()
    chat = make_chat(5001, "Zhou", "en")
    group = make_chat(5002, "Zhou", "en", chat_type="group")
    chat.send_command("drill", "deliberate beginner")
    chat.wait_messages(2)
    state_before = rows(database_url, "SELECT state, data FROM drill_sessions")
    sent = chat.send_text("Hello there.")
    chat.wait_message()
    state_after_one = rows(database_url, "SELECT state, data FROM drill_sessions")
    assert state_after_one != state_before

    cases = [
        (lambda: chat.send_sticker(), "I can only read text replies"),
        (lambda: chat.send_photo(caption="our brochure"), "I can only read text replies"),
        (lambda: chat.send_voice(), "I can only read text replies"),
        (lambda: chat.send_location(), "I can only read text replies"),
        (lambda: chat.send_text("x" * 4000), "over the limit of 1000"),
        (lambda: chat.edit(sent, "Hello again."), "Edited messages don't count"),
        (lambda: chat.send_command("frobnicate"), "I don't know that command"),
    ]
    for send, expected in cases:
        send()
        answer = chat.wait_message()
        assert expected in answer.text, answer.summary()
    assert rows(database_url, "SELECT state, data FROM drill_sessions") == state_after_one

    group.send_command("start")
    assert "only train in private chats" in group.wait_message().text
    (trainees,) = rows(database_url, "SELECT count(*) FROM exchanges WHERE speaker = 'trainee'")[0]
    assert trainees == 1


def test_buttons_guess_stale_and_forged(start_bot, make_chat, database_url):
    bot = start_bot()
    chat = make_chat(6001, "Lin", "zh")
    chat.send_command("drill", "caring beginner")
    _, opening = chat.wait_messages(2)
    chat.press(opening, "说出热键")
    menu = chat.wait_message()
    assert menu.button_texts[:5] == ["安全感", "地位或权势", "细节", "得到别人的赞扬", "坦诚"]
    chat.press(menu, "坦诚")
    assert "已记下你的判断：坦诚" in chat.wait_message().text

    chat.press(opening, "说出热键")  # a second call is refused with an alert, nothing sent
    chat.press_data("guess|999999|candor")  # a forged drill id
    chat.press_data("nonsense")  # not our format at all
    chat.expect_silence(0.5)
    alerts = [c.params.get("text", "") for c in bot.calls("answerCallbackQuery")]
    assert any("只有一次机会" in a for a in alerts)
    assert any("已经结束" in a or "失效" in a for a in alerts)
    assert any("无法识别" in a for a in alerts)

    chat.press(opening, "结束并复盘")
    debrief = chat.wait_messages(1)[0]
    assert "复盘" in debrief.text or "练习已结束" in debrief.text
    chat.press(opening, "结束并复盘")  # the drill is over: a stale button
    chat.expect_silence(0.5)
    assert "失效" in bot.calls("answerCallbackQuery")[-1].params.get("text", "")
    assert bot.unanswered_callback_queries() == []
    guesses = rows(database_url, "SELECT text FROM exchanges WHERE speaker = 'guess'")
    assert guesses == [("candor",)]


def test_language_switch_and_drill_arguments(start_bot, make_chat):
    start_bot()
    chat = make_chat(7001, "Sam", "de")  # neither zh nor en: the default language, Chinese
    chat.send_command("help")
    assert "使用说明" in chat.wait_message().text
    chat.send_command("lang")
    chat.press(chat.wait_message(), "English")
    assert "English from now on" in chat.wait_message().text
    chat.send_command("drill", "nobody expert")
    assert "I couldn't read that: nobody expert" in chat.wait_message().text
    chat.send_text("hello?")
    no_drill = chat.wait_message()
    assert "no drill running" in no_drill.text and "🎯 Start a drill" in no_drill.button_texts
    chat.send_command("drill")
    chat.press(chat.wait_message(), "Surprise me")
    chat.press(chat.wait_message(), "advanced")
    card, _ = chat.wait_messages(2)
    assert card.text.startswith("📋 Before the visit · advanced")
