"""Tests of the behaviour detectors: asking for a commitment (deck slide 22) and hard-sell pressure, zh and en.

Positive and negative examples in both languages, negated pressure ("不用今天就定", "no pressure"), evidence that
quotes the reply, and hostile input that must never raise.
"""

from __future__ import annotations

import pytest

from scoring.behaviours import BEHAVIOURS, detect_behaviours
from scoring.types import Behaviour

COMMITMENT_ASKS = [
    "下周二能不能安排我们和技术部一起过一下方案？",
    "王主任，您看月底之前能不能先在一个变电站做个试点？",
    "方便的话，麻烦您帮我引荐一下分管的刘总。",
    "我把技术方案和报价发给您，您这周内审一下，周五我们再碰一次，可以吗？",
    "要不这样，下周三我带工程师过来给您的团队做个现场演示？",
    "咱们约个时间，让我们的技术总监跟您这边信息科当面交流一下。",
    "您看能不能先签一个试用协议，三个月后再决定？",
    "下个月我们组织客户去杭州参观样板工程，您方便一起去吗？",
    "Could we set up a pilot at one substation next month?",
    "Would you be open to a 30-minute call with our engineers on Thursday?",
    "Can you introduce me to whoever owns the budget for this?",
    "Let's book a site visit for the week of the 14th — does Tuesday work for you?",
    "I'll send the proposal tonight; could you review it by Friday so we can meet on Monday?",
    "Would it make sense to run a two-week trial at your Pudong depot?",
    "Shall we put a date in the diary for the technical workshop?",
    "What day next week works for a demo with your IT team?",
]
NOT_COMMITMENT_ASKS = [
    "我们的方案在省内已经有十几家在用了。",
    "说实话，这个功能我们还做不到。",
    "您考虑得真周到。",
    "我们下周再说吧。",
    "好的，那我回去跟领导汇报一下。",
    "试点结果显示故障率下降了40%。",
    "我们会先在一个片区试点，确认没问题再全面铺开。",
    "多亏您引荐，我们才认识了刘总。",
    "您最近是不是去北京开会了？",
    "The pilot at the Suzhou plant cut downtime by 40%.",
    "Honestly, that feature isn't ready yet.",
    "Thanks for your time today.",
    "Our demo last year went really well.",
    "We held a review meeting internally last week.",
    "The demo looks great, but please don't expect miracles in week one.",
]
PRESSURE = [
    "这个价格只到本周五，您今天就定了吧",
    "别犹豫了，您的同行都已经签了，就差您了。",
    "名额只剩最后两个，过了今天就没有了。",
    "下个月就涨价，现在不签以后肯定后悔。",
    "这有什么好担心的？您想多了，直接签就行。",
    "今天签合同，我再给您打个九折，明天就不行了。",
    "You'd be crazy not to sign today",
    "This price expires on Friday, so let's get it signed now.",
    "Everyone else in your sector has already bought it; you don't want to be left behind.",
    "Trust me, you're overthinking this — just sign and we'll sort out the details later.",
    "Only two slots left at this price. What are you waiting for?",
    "Prices go up next month, so it's now or never.",
]
NO_PRESSURE = [
    "您不用今天就定，回去和团队商量一下再说。",
    "不着急，您慢慢考虑，有问题随时找我。",
    "说实话，这个价格已经是最低了。",
    "咱们约个时间，下周再过一下方案？",
    "我们不会催您，您按自己的流程走。",
    "出了问题我们负责到底，您放心。",
    "No pressure to sign today — take it to your team first.",
    "Take your time; I'm happy to answer any questions next week.",
    "Could we set up a pilot at one substation next month?",
    "We're not the cheapest, and I'd rather you compare us properly.",
    "There's no rush; your procurement process comes first.",
    "Three utilities like yours already run it without an outage.",
]


def check(text: str, name: str) -> Behaviour:
    result = detect_behaviours(text)
    assert set(result) == set(BEHAVIOURS) == {"commitment_ask", "pressure"}
    behaviour = result[name]
    assert all(quote and quote in text for quote in behaviour.evidence)
    assert behaviour.present == bool(behaviour.evidence)
    return behaviour


@pytest.mark.parametrize("text", COMMITMENT_ASKS)
def test_commitment_ask_present(text: str) -> None:
    assert check(text, "commitment_ask").present


@pytest.mark.parametrize("text", NOT_COMMITMENT_ASKS)
def test_commitment_ask_absent(text: str) -> None:
    assert not check(text, "commitment_ask").present


@pytest.mark.parametrize("text", PRESSURE)
def test_pressure_present(text: str) -> None:
    assert check(text, "pressure").present


@pytest.mark.parametrize("text", NO_PRESSURE)
def test_pressure_absent(text: str) -> None:
    assert not check(text, "pressure").present


def test_evidence_names_the_words_that_show_the_behaviour() -> None:
    pressure = detect_behaviours("这个价格只到本周五，您今天就定了吧")["pressure"]
    assert "只到本周" in pressure.evidence and "今天就定" in pressure.evidence
    ask = detect_behaviours("Could we set up a pilot at one substation next month?")["commitment_ask"]
    assert any("Could we set up" in quote for quote in ask.evidence)


def test_an_ask_and_a_step_must_share_a_sentence() -> None:
    assert not detect_behaviours("Could you remind me? We had a meeting last year.")["commitment_ask"].present
    assert detect_behaviours("Could you give us an hour on Thursday?")["commitment_ask"].present


def test_a_reply_can_show_both_or_neither() -> None:
    both = detect_behaviours("Only two slots left — shall we sign the contract on Monday?")
    assert both["pressure"].present and both["commitment_ask"].present
    neither = detect_behaviours("您这办公室采光真好。")
    assert not neither["pressure"].present and not neither["commitment_ask"].present


@pytest.mark.parametrize(
    "text",
    [
        "",
        "😀" * 2000,
        "\x00\x1b\x7f",
        "\ud800",
        "约个时间" * 1024,
        ("sign today " * 400)[:4096],
        "مرحبا",
        None,
        b"\xff",
    ],
)
def test_hostile_input_never_raises(text: object) -> None:
    result = detect_behaviours(text)  # type: ignore[arg-type]
    assert set(result) == set(BEHAVIOURS)
    assert all(isinstance(b, Behaviour) for b in result.values())


def test_a_pronoun_inside_a_word_is_not_an_ask() -> None:
    """'will impress everyone who visits' once matched 'will i…visit' as a request for a visit."""
    from scoring.behaviours import detect_behaviours

    assert not detect_behaviours("Our brand alone will impress everyone who visits your facility.")["commitment_ask"].present
    assert detect_behaviours("Will you join a site visit on Tuesday?")["commitment_ask"].present
