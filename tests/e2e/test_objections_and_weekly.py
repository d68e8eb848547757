"""End to end: objection drills, the full visit and a weekly assignment, over the emulated Telegram.

Rumour and price drills play from the command to the debrief in both languages, the full visit raises its
objection mid-way, and a team's weekly schedule delivers an invitation whose one-tap Start runs a graded drill.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dbrows import rows

pytestmark = pytest.mark.e2e
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"




def play(chat, database_url, replies: list[str]) -> list:
    """Reply until the drill is over (saved before the bot answers), or /end it after the last reply; return
    every message from the last answer to the end of the debrief."""
    collected = []
    for reply in replies:
        chat.send_text(reply)
        collected = [chat.wait_message()]
        (state,) = rows(database_url, "SELECT state FROM drill_sessions ORDER BY id DESC LIMIT 1")[0]
        if state in ("debrief", "abandoned"):
            break
    else:
        chat.send_command("end")
        collected = [chat.wait_message()]
    while not any(b["callback_data"].startswith("again|") for b in collected[-1].buttons):
        collected.append(chat.wait_message())  # a debrief ends with the "again" buttons
    return collected


@pytest.mark.parametrize(("lang", "kind", "scenario"), [("zh", "rumour", "rumour_cold_weather"),
                                                       ("en", "price", "price_cheaper_quote")])
def test_objection_drill_from_command_to_debrief(start_bot, make_chat, database_url, lang, kind, scenario):
    start_bot()
    chat = make_chat(8100 if lang == "zh" else 8101, "Rep", lang)
    chat.send_command(kind, scenario)
    card, opening = chat.wait_messages(2)
    assert card.text.startswith("📋") and opening.text.startswith("🗣")
    script = (SCRIPTS / kind / f"{scenario}_{lang}_good.txt").read_text(encoding="utf-8").splitlines()
    end = play(chat, database_url, script)
    text = "\n".join(m.text for m in end)
    assert ("复盘" if lang == "zh" else "Debrief") in text and "💡" in text
    (row,) = rows(database_url, "SELECT kind, scenario, state, score FROM drill_sessions")
    assert row[:3] == (kind, scenario, "debrief") and row[3] >= 80
    assert f"{row[3]}/100" in text


def test_full_visit_raises_an_objection_mid_way(start_bot, make_chat, database_url):
    start_bot()
    chat = make_chat(8200, "Rep", "zh")
    chat.send_command("visit", "fatalist rumour_cold_weather")
    _, opening = chat.wait_messages(2)
    speaker = opening.text.split("：")[0]
    chat.send_text("您好王主任，我们先小范围试点，出了问题我们兜底负责。")
    chat.wait_message()
    chat.send_text("我们在三家同类单位跑了三年零事故，您可以直接问他们。")
    _, notice, objection = chat.wait_messages(3)
    assert notice.text.startswith("⚠️") and objection.text.startswith(speaker + "：")  # the same customer
    end = play(chat, database_url, ["我理解您的担心，这个说法不属实：我们在零下四十度做过试验，东北运行三年零故障。我们说回今年的试点吧。",
                                    "合同里写明我们负责到底，您零风险。", "下周二能否安排一次现场试点？"])
    assert any(m.text.startswith("🧭 完整拜访") for m in end)
    (kind, state) = rows(database_url, "SELECT kind, state FROM drill_sessions")[0]
    assert (kind, state) == ("visit", "debrief")


def test_weekly_schedule_invites_and_the_assigned_drill_is_graded(start_bot, make_chat, database_url):
    start_bot(env={"ADMIN_IDS": "8300", "WEEKLY_SWEEP_SECONDS": "1"})
    admin, trainer, trainee = make_chat(8300, "Ada", "en"), make_chat(8301, "Tom", "en"), make_chat(8302, "Li", "zh")
    admin.send_command("newteam", "Weekly")
    trainer_code, invite_code = [line.split("start=")[1] for line in admin.wait_message().text.splitlines()
                                 if "start=" in line]
    trainer.send_command("start", trainer_code)
    trainer.wait_message()
    trainee.send_command("start", invite_code)
    trainee.wait_message()
    started = datetime.now(UTC) - timedelta(minutes=1)  # a window that opened a minute ago, still open
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[started.weekday()]
    trainer.send_command("schedule", f"{day} {started:%H:%M} UTC 2h 1h")
    assert "Weekly drill for \"Weekly\"" in trainer.wait_message().text
    invitation = trainee.wait_for(lambda m: "本周练习到了" in (m.text or ""))
    assert invitation.button_texts == ["▶️ 开始本周练习"]
    trainee.press(invitation, "开始本周练习")
    card, _ = trainee.wait_messages(2)
    assert card.text.startswith("📋")
    (mode,) = rows(database_url, "SELECT mode FROM drill_sessions")[0]
    assert mode == "assigned"
    trainee.send_command("end")
    trainee.wait_messages(1)
    trainee.press(invitation, "开始本周练习")  # the assignment is taken: a clear alert, no second drill
    trainee.expect_silence(0.5)
    assert rows(database_url, "SELECT count(*) FROM drill_sessions") == [(1,)]
    assert rows(database_url, "SELECT count(*) FROM assignments WHERE invited_at IS NOT NULL") == [(1,)]
    trainer.send_command("schedule")
    assert "every" in trainer.wait_message().text
    trainer.send_command("schedule", "off")
    assert "stopped" in trainer.wait_message().text
