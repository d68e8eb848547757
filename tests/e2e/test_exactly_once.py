"""End to end: SIGKILL the bot again and again in the middle of drills; nothing is lost, nothing is doubled.

Three trainees play three drills each, sending their next message together in rounds. In 15 rounds chosen
by a seeded random generator the bot process is killed (SIGKILL) at a seeded point of the round — as soon as
the messages are sent, once getUpdates has handed one of them to the bot, once its step is committed, or
once the bot has begun to answer it — and started again. The compat proxy keeps every update the bot has not
confirmed and delivers it again, as Telegram does. Each round ends when the bot has confirmed every update
of the round (the bot confirms an update only after handling it), and then each chat must have received the
answer stored with its update (a prefix of it may come twice when the kill fell between two sends). At the end
the database must hold every trainee message exactly once, in order, with contiguous sequence numbers, one
processed-update record per message, and every drill must have reached its debrief.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dbrows import rows as query
from harness import DEFAULT_WAIT, wait_until

pytestmark = pytest.mark.e2e
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
SEED = int(os.environ.get("EXACTLY_ONCE_SEED", "20261126"))
KILLS = int(os.environ.get("EXACTLY_ONCE_KILLS", "15"))
ROUNDS = 18  # at least: three drills of /drill and five scripted replies each (a drill may need an /end more)
POINTS = ("sent", "delivered", "committed", "answering")
PLAN = {  # user id -> (language, the personas of its three drills, in order)
    9101: ("zh", ("fatalist", "deliberate", "caring")),
    9102: ("en", ("aggressive", "relational", "fatalist")),
    9103: ("en", ("caring", "deliberate", "aggressive")),
}


@dataclass
class Trainee:
    """One trainee's plan and progress: which drill, which reply next, what was sent."""

    chat: object
    lang: str
    personas: tuple[str, ...]
    drill: int = 0
    replies: list[str] = field(default_factory=list)
    next_reply: int = 0
    sent_texts: list[str] = field(default_factory=list)  # every drill reply sent, across drills
    messages: int = 0  # everything sent: /drill, replies, /end
    started: bool = False

    @property
    def done(self) -> bool:
        return self.drill >= len(self.personas)

    def send_next(self):
        """Send /drill PERSONA beginner, the next scripted reply, or /end once the script is spent."""
        self.messages += 1
        if not self.started:
            persona = self.personas[self.drill]
            self.replies = (SCRIPTS / f"{persona}_{self.lang}_good.txt").read_text(encoding="utf-8").splitlines()
            self.next_reply, self.started = 0, True
            return self.chat.send_command("drill", f"{persona} beginner")
        if self.next_reply >= len(self.replies):
            return self.chat.send_command("end")
        reply = self.replies[self.next_reply]
        self.next_reply += 1
        self.sent_texts.append(reply)
        return self.chat.send_text(reply)


def test_sigkill_at_random_points_loses_and_doubles_nothing(start_bot, make_chat, database_url, e2e_stack):
    rng = random.Random(SEED)
    bot = start_bot()
    proxy, token = e2e_stack.proxy, bot.token
    trainees = {uid: Trainee(make_chat(uid, f"T{uid}", lang), lang, personas)
                for uid, (lang, personas) in PLAN.items()}
    kill_rounds = set(rng.sample(range(ROUNDS), KILLS))
    kills: list[str] = []

    def stored_reply(update_id: int) -> list[str] | None:
        rows = query(database_url, "SELECT reply FROM processed_updates WHERE update_id = ?", update_id)
        if not rows:
            return None
        reply = rows[0][0] if isinstance(rows[0][0], dict) else json.loads(rows[0][0])
        return [m["text"] for m in reply["messages"]]

    def kill_at(point: str, update_id: int, chat_id: int, since: int) -> None:
        if point == "delivered":
            wait_until(lambda: any(u["update_id"] == update_id for u in proxy.delivered_updates(token)),
                       DEFAULT_WAIT, lambda: f"update {update_id} was never delivered\n{bot.describe()}")
        elif point == "committed":
            wait_until(lambda: stored_reply(update_id) is not None, DEFAULT_WAIT,
                       lambda: f"update {update_id} was never stored\n{bot.describe()}")
        elif point == "answering":
            bot.wait_call("sendMessage", lambda c: str(c.params.get("chat_id")) == str(chat_id), since=since)
        bot.restart(kill=True)

    def wait_confirmed(last: int, round_number: int) -> None:
        """The bot confirms an update with getUpdates only after handling it (and answering it)."""
        wait_until(lambda: proxy.confirmed_offset(token) > last, 3 * DEFAULT_WAIT,
                   lambda: f"round {round_number}: updates up to {last} not confirmed\n{bot.describe()}")

    round_number = 0
    while not all(t.done for t in trainees.values()):
        assert round_number < 2 * ROUNDS, "the drills do not come to an end"
        since = proxy.last_seq
        sent = {uid: trainee.send_next() for uid, trainee in trainees.items() if not trainee.done}
        update_ids = {uid: s.update_id for uid, s in sent.items()}
        if round_number in kill_rounds:
            point, target = rng.choice(POINTS), rng.choice(sorted(sent))
            kills.append(f"round {round_number}: {point} of update {update_ids[target]}")
            kill_at(point, update_ids[target], trainees[target].chat.chat_id, since)
        wait_confirmed(max(update_ids.values()), round_number)
        for uid, update_id in update_ids.items():
            trainee = trainees[uid]
            expected = stored_reply(update_id)
            assert expected, f"round {round_number}: update {update_id} of {uid} has no stored answer"
            got = [m.text for m in trainee.chat.drain()]
            head = got[: len(got) - len(expected)]
            assert got[len(head):] == expected and head == expected[: len(head)], (
                f"round {round_number}, user {uid}, update {update_id}: expected {expected!r}, got {got!r}; "
                f"kills so far: {kills}")
            state = query(database_url, "SELECT state, ended_at FROM drill_sessions WHERE user_id = ? "
                                        "ORDER BY id DESC LIMIT 1", uid)
            if state and state[0][1] is not None and trainee.started:
                assert state[0][0] == "debrief", f"user {uid}'s drill ended as {state[0][0]}"
                trainee.drill, trainee.started = trainee.drill + 1, False
        round_number += 1

    assert len(kills) == KILLS, f"only {len(kills)} kills happened in {round_number} rounds: {kills}"
    for uid, trainee in trainees.items():
        drills = query(database_url, "SELECT id, state, score, ended_at FROM drill_sessions WHERE user_id = ? "
                                     "ORDER BY id", uid)
        assert [(state, ended is not None) for _, state, _, ended in drills] == [("debrief", True)] * 3, drills
        assert all(score is not None for _, _, score, _ in drills)
        texts = [text for (text,) in query(database_url,
                                           "SELECT e.text FROM exchanges e JOIN drill_sessions d ON d.id = "
                                           "e.session_id WHERE d.user_id = ? AND e.speaker = 'trainee' "
                                           "ORDER BY d.id, e.seq", uid)]
        assert texts == trainee.sent_texts, f"user {uid}: lost or doubled replies; kills: {kills}"
        for drill_id, *_ in drills:
            seqs = [seq for (seq,) in query(database_url, "SELECT seq FROM exchanges WHERE session_id = ? "
                                                          "ORDER BY seq", drill_id)]
            assert seqs == list(range(1, len(seqs) + 1)), f"drill {drill_id}: gaps or repeats in {seqs}"
    (recorded,) = query(database_url, "SELECT count(*) FROM processed_updates")[0]
    assert recorded == sum(t.messages for t in trainees.values())  # every message took effect exactly once
    assert bot.unanswered_callback_queries() == []
