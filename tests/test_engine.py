"""The hot-button drill engine: flow through its states, determinism, and exact resumption from a saved dict."""

import json

import pytest

from dialogs.debrief import render_debrief
from dialogs.hot_button import DrillError, HotButtonDrill, State
from dialogs.messages import PERSONA, SCENARIO


def new(services, seed=7, lang="zh", persona="fatalist", level="beginner"):
    return HotButtonDrill.new(services, seed, lang, 3, persona, level)


def test_start_shows_scenario_card_and_opening_with_buttons(services, t):
    drill = new(services)
    messages = drill.start(t)
    assert [m.kind for m in messages] == [SCENARIO, PERSONA]
    scenario = drill.scenario
    assert scenario.customer.zh in messages[0].text and scenario.purpose.zh in messages[0].text
    assert drill.scenario.fill(drill.opening_line().text.zh, "zh") in messages[1].text
    assert [b.action for b in messages[1].buttons[0]] == ["guessmenu", "end"]
    assert drill.state == State.OPENING


def test_hot_button_reply_warms_and_wrong_motive_cools(services, t):
    drill = new(services)
    drill.start(t)
    drill.reply("我们先在一个站点小范围试点，出了任何问题由我们兜底负责，您这边零风险。", t)
    assert drill.data.replies[-1].reaction == "hit" and drill.state == State.ENGAGED
    drill.reply("您签了这个单，就是全省第一个吃螃蟹的人，领导一定会高看您一眼！", t)
    assert drill.data.replies[-1].reaction == "dislike"
    assert drill.data.rapport == 0 and drill.state == State.PROBING


def test_meeting_closes_on_commitment_ask_and_debriefs(services, t):
    drill = new(services, lang="en")
    drill.start(t)
    drill.reply("We'll start with a small pilot, and if anything fails we take full responsibility and roll it back.", t)
    drill.reply("Three utilities your size have run it for two years without a single outage, and you can call them.",
                t)
    closing = drill.reply("Could we set up the pilot at one substation next Tuesday, with your deputy there?", t)
    assert drill.state == State.DEBRIEF and drill.data.outcome == "committed"
    assert any(line.en in closing[-1].text for line in drill.persona.commitment)
    score = drill.score()
    assert score.total >= 80 and score.identified_at == 1
    debrief = render_debrief(drill, t)
    text = "\n".join(m.text for m in debrief)
    assert f"{score.total}/100" in text and "could we set up the pilot" in text.lower()
    with pytest.raises(DrillError) as error:
        drill.reply("one more thing", t)
    assert error.value.key == "drill.already_finished"


def test_closing_prompt_after_the_last_reply_then_hesitant_without_ask(services, t):
    drill = new(services, persona="deliberate")
    drill.start(t)
    for _ in range(5):
        drill.reply("天气不错。", t)
    assert drill.state == State.CLOSING
    final = drill.reply("那就先这样吧。", t)
    assert drill.state == State.DEBRIEF and drill.data.outcome == "hesitant"
    assert any(line.zh in final[-1].text for line in drill.persona.hesitant)
    assert drill.score().total <= 40


def test_guess_once_then_refused(services, t):
    drill = new(services)
    drill.start(t)
    drill.guess("security", t)
    with pytest.raises(DrillError) as again:
        drill.guess("status", t)
    assert again.value.key == "drill.already_guessed"
    with pytest.raises(DrillError) as bad:
        new(services).guess("money", t)
    assert bad.value.key == "drill.unknown_motive"
    drill.end()
    assert drill.state == State.ABANDONED  # no reply was given


def test_same_seed_same_drill(services, t):
    a, b = new(services, seed=123, persona=None, level=None), new(services, seed=123, persona=None, level=None)
    assert [m.text for m in a.start(t)] == [m.text for m in b.start(t)]
    for reply in ("你好，王主任。", "我们有完整的应急预案和备品备件。"):
        assert [m.text for m in a.reply(reply, t)] == [m.text for m in b.reply(reply, t)]


def test_restore_from_json_continues_exactly(services, t):
    replies = ["您好，我们这个方案有三家同行在用，运行两年零事故。", "合同里可以写明故障二十四小时到场。",
               "您看下周二能不能请设备科一起开个会，把试点定下来？"]
    straight = new(services, seed=99)
    straight.start(t)
    expected = [straight.reply(r, t) for r in replies]

    resumed = new(services, seed=99)
    resumed.start(t)
    first = resumed.reply(replies[0], t)
    saved = json.loads(json.dumps(resumed.to_dict()))  # what the database column holds
    restored = HotButtonDrill.restore(services, saved)
    rest = [restored.reply(r, t) for r in replies[1:]]
    assert [m.text for m in [*first, *[m for ms in rest for m in ms]]] == [m.text for ms in expected for m in ms]
    assert restored.to_dict() == straight.to_dict()


@pytest.mark.parametrize("text", ["", "😀😀😀", "\x00\x1b[31m", "a" * 4096, "مرحبا", "/guess", "   "])
def test_odd_text_never_breaks_the_engine(services, t, text):
    drill = new(services)
    drill.start(t)
    drill.reply(text, t)
    assert drill.state in (State.PROBING, State.GUARDED, State.ENGAGED)
