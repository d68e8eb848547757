"""End to end, trainers: an admin, two trainers and two trainees of two teams, over the emulated Telegram.

Teams are made, people join by link, drills are played, and the trainer sees a table, a transcript, a chart
and CSVs that match what was played; every forbidden access is refused politely and changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from dbrows import rows

pytestmark = pytest.mark.e2e
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
ADMIN, TRAINER_A, TRAINER_B, TRAINEE_A, TRAINEE_B, STRANGER = 9001, 9101, 9102, 9201, 9202, 9301




def codes(text: str) -> list[str]:
    return re.findall(r"\?start=([A-Za-z0-9_-]+)", text)


def play(chat, database_url, persona: str, kind: str) -> int:
    chat.send_command("drill", f"{persona} beginner")
    chat.wait_messages(2)
    for line in (SCRIPTS / f"{persona}_en_{kind}.txt").read_text(encoding="utf-8").splitlines():
        chat.send_text(line)
        chat.wait_message()
        (state,) = rows(database_url, "SELECT state FROM drill_sessions ORDER BY id DESC LIMIT 1")[0]
        if state == "debrief":
            break
    else:
        chat.send_command("end")
    chat.wait_messages(2)
    return rows(database_url, "SELECT max(id) FROM drill_sessions")[0][0]


@pytest.fixture
def world(start_bot, make_chat, database_url):
    """Two teams, each with a trainer and a trainee who played one drill."""
    bot = start_bot(env={"ADMIN_IDS": str(ADMIN)})
    people = {uid: make_chat(uid, name, "en") for uid, name in
              ((ADMIN, "Ada"), (TRAINER_A, "Tom"), (TRAINER_B, "Tina"), (TRAINEE_A, "Alice"), (TRAINEE_B, "Bob"),
               (STRANGER, "Eve"))}
    admin = people[ADMIN]
    links = {}
    for team in ("Alpha", "Beta"):
        admin.send_command("newteam", team)
        created = admin.wait_message().text
        assert f'Team "{team}" created' in created
        links[team] = codes(created)  # [trainer code, trainee code]
    for uid, team in ((TRAINER_A, "Alpha"), (TRAINER_B, "Beta")):
        people[uid].send_command("start", links[team][0])
        assert "You are now a trainer" in people[uid].wait_message().text
    for uid, team in ((TRAINEE_A, "Alpha"), (TRAINEE_B, "Beta")):
        people[uid].send_command("start", links[team][1])
        assert f'joined "{team}"' in people[uid].wait_message().text
    drills = {TRAINEE_A: play(people[TRAINEE_A], database_url, "fatalist", "good"),
              TRAINEE_B: play(people[TRAINEE_B], database_url, "caring", "careless")}
    return bot, people, links, drills


def test_trainer_sees_table_transcript_chart_and_csv(world, database_url):
    bot, people, _, drills = world
    trainer = people[TRAINER_A]
    trainer.send_command("team")
    table = trainer.wait_message().text
    assert "Alpha" in table and "Alice" in table and "Bob" not in table

    trainer.send_command("transcript", str(drills[TRAINEE_A]))
    parts = [trainer.wait_message()]
    while not parts[-1].button_texts:  # the override button comes on the transcript's last part
        parts.append(trainer.wait_message())
    assert parts[-1].button_texts == ["✏️ Override score"]
    whole = "\n".join(p.text for p in parts)
    replies = [text for (text,) in rows(database_url, "SELECT text FROM exchanges WHERE session_id = ? AND "
                                                      "speaker = 'trainee' ORDER BY seq", drills[TRAINEE_A])]
    assert replies and all(reply in whole for reply in replies)
    trainer.press(parts[-1], "Override score")
    assert f"/override {drills[TRAINEE_A]} SCORE REASON" in trainer.wait_message().text

    trainer.send_command("override", f"{drills[TRAINEE_A]} 55 reply 2 drifted to prestige")
    assert "score changed from" in trainer.wait_message().text
    audit = rows(database_url, "SELECT drill_id, trainer_id, new_score, reason FROM score_overrides")
    assert audit == [(drills[TRAINEE_A], TRAINER_A, 55, "reply 2 drifted to prestige")]
    (kept,) = rows(database_url, "SELECT score FROM drill_sessions WHERE id = ?", drills[TRAINEE_A])[0]
    assert kept is not None and kept != 55  # the original score stays

    trainer.send_command("export")
    documents = [trainer.wait_message(), trainer.wait_message()]
    assert [d.kind for d in documents] == ["document", "document"]
    content = trainer.download(documents[0].raw["document"]["file_id"])
    assert content.startswith(b"\xef\xbb\xbf")
    table_rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [(r["drill_id"], r["trainee"], r["final_score"]) for r in table_rows] == [
        (str(drills[TRAINEE_A]), "Alice", "55")]
    assert trainer.wait_message().text.startswith("📎")

    trainer.send_command("heatmap")
    photo = trainer.wait_message()
    assert photo.kind == "photo"
    assert trainer.download(photo.raw["photo"][-1]["file_id"]).startswith(b"\x89PNG")
    assert bot.unanswered_callback_queries() == []


def test_forbidden_access_is_refused_and_changes_nothing(world, database_url):
    _, people, links, drills = world
    before = rows(database_url, "SELECT team_id, user_id, role FROM memberships ORDER BY team_id, user_id")
    trainee, trainer_a, stranger = people[TRAINEE_A], people[TRAINER_A], people[STRANGER]

    trainee.send_command("team")
    assert "This command is for trainers" in trainee.wait_message().text
    trainee.send_command("transcript", str(drills[TRAINEE_B]))
    assert "This command is for trainers" in trainee.wait_message().text
    trainee.send_command("newteam", "Gamma")
    assert "Only admins" in trainee.wait_message().text

    trainer_a.send_command("transcript", str(drills[TRAINEE_B]))  # another team's drill
    assert f"There is no drill {drills[TRAINEE_B]}, or it is not in your teams" in trainer_a.wait_message().text
    trainer_a.send_command("override", f"{drills[TRAINEE_B]} 100 because")
    assert "not in your teams" in trainer_a.wait_message().text
    trainer_a.send_command("trainee", "Bob")
    assert 'No trainee matching "Bob"' in trainer_a.wait_message().text

    stranger.send_command("start", "forged-code-123")
    assert "invalid or has been turned off" in stranger.wait_message().text
    stranger.send_command("start", links["Alpha"][0])  # the trainer code was single use
    assert "invalid or has been turned off" in stranger.wait_message().text
    trainer_a.send_command("invite", "revoke")
    assert "turned off" in trainer_a.wait_message().text
    stranger.send_command("start", links["Alpha"][1])  # a revoked trainee invite
    assert "invalid or has been turned off" in stranger.wait_message().text

    assert rows(database_url, "SELECT team_id, user_id, role FROM memberships ORDER BY team_id, user_id") == before
    assert rows(database_url, "SELECT count(*) FROM score_overrides") == [(0,)]
    trainer_a.send_command("invite", "renew")
    fresh = codes(trainer_a.wait_message().text)
    assert fresh and fresh[0] != links["Alpha"][1]


def test_trainee_sees_own_trend_and_opt_in_leaderboard(world, database_url):
    _, people, _, _ = world
    trainee, trainer = people[TRAINEE_A], people[TRAINER_A]
    play(trainee, database_url, "fatalist", "careless")
    trainee.send_command("me")
    summary = trainee.wait_message()
    assert "Finished: 2" in summary.text
    assert trainee.wait_message().kind == "photo"
    trainee.send_command("leaderboard")
    assert "None of your teams has the leaderboard turned on" in trainee.wait_message().text
    trainer.send_command("leaderboard", "on")
    assert "leaderboard of \"Alpha\" is on" in trainer.wait_message().text
    trainee.send_command("leaderboard")
    board = trainee.wait_message().text
    assert "Alpha" in board and "Alice" in board and "Bob" not in board
