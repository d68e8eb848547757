"""Tests of the objection-drill behaviour detector (competitor rumours, price-only customers), zh and en.

They use the product's detector (cue layer plus the learned layer, trained once per test session and cached
under var/cache/ like the bot's). Per-behaviour F1 on the labelled development bank (data/scoring/objections_bank/)
must stay at or above the floors reached; every quote must be an exact substring of the reply; the keys are
exactly the drill's behaviour ids; hostile input never raises; negation ("我不是说他们不好", "I'm not going to
knock them") and conditional concessions are read right; hand-picked replies in both languages, not from the
bank, are detected or not as a trainer would; a malformed cue file names the field at fault. Held-out figures
are in tests/test_evaluate.py, the learned layer's own tests in tests/test_objection_model.py.
"""

from __future__ import annotations

import pathlib
import shutil

import pytest
import yaml

from scoring.lexicon import LexiconError
from scoring.objections import OBJECTION_BEHAVIOURS, OBJECTIONS_FILE, detect_objection_behaviours, load_objections
from scoring.types import Behaviour

BANK = OBJECTIONS_FILE.parent / "objections_bank"
# In-sample F1 on the bank (cues were tuned and the model trained on it), a little under what was reached.
FLOORS = {
    ("rumour", "zh"): {"calm": 0.95, "defensive": 0.92, "bashes_competitor": 0.9, "redirects": 0.92,
                       "acknowledges": 0.95, "humour": 0.95, "confident": 0.95},
    ("rumour", "en"): {"calm": 0.95, "defensive": 0.94, "bashes_competitor": 0.9, "redirects": 0.92,
                       "acknowledges": 0.95, "humour": 0.88, "confident": 0.92},
    ("price", "zh"): {"immediate_discount": 0.9, "probes_reason": 0.95, "leaves_room": 0.92,
                      "trades_concession": 0.95, "value_framing": 0.95, "self_focused": 0.92},
    ("price", "en"): {"immediate_discount": 0.92, "probes_reason": 0.95, "leaves_room": 0.9,
                      "trades_concession": 0.92, "value_framing": 0.95, "self_focused": 0.9},
}


def _bank(drill: str, lang: str) -> list[dict]:
    return yaml.safe_load((BANK / f"{drill}.{lang}.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bank_results() -> dict[tuple[str, str], list[tuple[dict, dict[str, Behaviour]]]]:
    return {(drill, lang): [(item, detect_objection_behaviours(drill, item["text"])) for item in _bank(drill, lang)]
            for drill, lang in FLOORS}


def _f1(pairs, behaviour: str) -> float:
    tp = sum(1 for item, found in pairs if found[behaviour].present and behaviour in item["behaviours"])
    fp = sum(1 for item, found in pairs if found[behaviour].present and behaviour not in item["behaviours"])
    fn = sum(1 for item, found in pairs if not found[behaviour].present and behaviour in item["behaviours"])
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@pytest.mark.parametrize(("drill", "lang"), list(FLOORS))
def test_bank_is_labelled_and_large_enough(drill, lang):
    items = _bank(drill, lang)
    ids = set(OBJECTION_BEHAVIOURS[drill])
    assert all(set(item) == {"text", "behaviours"} and set(item["behaviours"]) <= ids for item in items)
    assert len({item["text"] for item in items}) == len(items), "duplicate replies in the bank"
    for behaviour in ids:
        assert sum(behaviour in item["behaviours"] for item in items) >= 40, behaviour
    assert sum(not item["behaviours"] for item in items) >= 5, "the bank needs replies that show nothing"


@pytest.mark.parametrize(("drill", "lang", "behaviour"),
                         [(d, lang, b) for (d, lang), floors in FLOORS.items() for b in floors])
def test_bank_f1_floor(bank_results, drill, lang, behaviour):
    f1 = _f1(bank_results[drill, lang], behaviour)
    assert f1 >= FLOORS[drill, lang][behaviour], f"{drill}.{lang} {behaviour}: F1 {f1:.3f}"


def test_bank_evidence_quotes_the_reply(bank_results):
    for pairs in bank_results.values():
        for item, found in pairs:
            for behaviour in found.values():
                assert bool(behaviour.evidence) == behaviour.present
                assert all(quote and quote in item["text"] for quote in behaviour.evidence)


@pytest.mark.parametrize("drill", list(OBJECTION_BEHAVIOURS))
def test_keys_are_exactly_the_drills_behaviours(drill):
    found = detect_objection_behaviours(drill, "我理解您的顾虑。I hear you.")
    assert tuple(found) == OBJECTION_BEHAVIOURS[drill]
    assert all(isinstance(b, Behaviour) for b in found.values())


def test_unknown_drill_is_a_programming_error():
    with pytest.raises(ValueError):
        detect_objection_behaviours("hotbutton", "hello")


HOSTILE = ["", " ", "\x00\x01\x1b[31m\x7f", "😀🔥" * 2048, "他们" * 2048, "a" * 4096, "？" * 4096, ". " * 2048,
           "re:(" * 1000, "\u202e\u200b\ufeff" * 1300, "我不是说他们不好，" * 460, ("I'm not going to knock them. " * 150),
           "如果您签三年，我们可以再让三个点。" * 240, "𠀀𪚥\U0001f9d1\u200d\U0001f4bc" * 600, "\n" * 4096, None, b"\xff\xfe", 42]


@pytest.mark.parametrize("drill", list(OBJECTION_BEHAVIOURS))
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_never_raises(drill, text):
    found = detect_objection_behaviours(drill, text)
    assert tuple(found) == OBJECTION_BEHAVIOURS[drill]
    for behaviour in found.values():
        assert all(isinstance(text, str) and quote in text for quote in behaviour.evidence)


HAND = {  # replies written for these tests, not taken from the bank: (shows it, does not show it)
    ("rumour", "calm"): (
        ["我理解您的顾虑，这件事我回去核实一下，明天给您书面答复。", "谢谢您直接告诉我，咱们把情况弄清楚就好。",
         "I understand why that would worry you — let me check the facts and get back to you in writing.",
         "Thanks for raising it; it's a fair question."],
        ["胡说八道，我们怎么可能出这种问题！", "他们的产品才是垃圾。", "That's absolute nonsense, who told you that?",
         "Their kit is junk and everyone knows it."]),
    ("rumour", "defensive"): (
        ["您怎么能信他们的话？根本没有的事！", "那次延误根本不是我们的责任，是你们现场没准备好。",
         "That's ridiculous. Why would you even listen to them?", "It wasn't our fault — your operators skipped the procedure."],
        ["您说得对，那批货确实晚了，是我们没排好产。", "这个问题我回去核实一下，再给您答复。",
         "You're right, that shipment was late and that's on us.", "Let me check and get back to you on that."]),
    ("rumour", "bashes_competitor"): (
        ["他们的设备返修率高得吓人，用两年就得大修。", "对方就是打不过我们，才到处造谣抹黑。",
         "Their engineers can't even commission a basic system.", "They're desperate, so they'll say anything."],
        ["我不是说他们不好，他们也有自己的优势。", "友商的产品我不便评价，我们用数据说话。",
         "I'm not going to knock them — they make decent equipment.", "I won't badmouth anyone; here's our test report instead."]),
    ("rumour", "redirects"): (
        ["这些传言先不管，咱们回到正题，把试点方案定下来。", "言归正传，上次您提的接口问题我们已经有方案了。",
         "Let's get back to the pilot schedule, shall we?", "Anyway, the reason I came today is to finalise the cabling plan."],
        ["那是他们的问题，跟我们没关系。", "这个事确实是我们做得不好。", "That's nonsense and you know it.",
         "Yes, we were late, and I'm sorry."]),
    ("rumour", "acknowledges"): (
        ["您说得没错，去年那批货确实晚了三周，这是我们的问题。", "这个批评我们接受，那次服务器宕机是我们的失误。",
         "You're right, that shipment was three weeks late — our mistake.", "Fair criticism. We dropped the ball on that project."],
        ["这完全是谣言，我们从来没有延误过。", "如果真出了问题，我们会负责到底。",
         "That isn't true; we have never missed a delivery.", "If anything ever went wrong, we'd fix it the same day."]),
    ("rumour", "humour"): (
        ["要是我们真倒闭了，我今天也不会坐在这儿跟您谈三期了，哈哈。", "那段时间我们项目经理头发都白了一半。",
         "If we were really going under, nobody told me — they just gave me a new laptop. 😄",
         "Joking aside, our failure rate is a third of the industry average."],
        ["他们那套说辞骗骗外行还行，哈哈，他们就是垃圾。", "我们的设备在省内三十多家医院在用。", "Ha, their stuff is junk.",
         "We have 300 units running across the province."]),
    ("rumour", "confident"): (
        ["我们的设备在省内三十多家医院在用，您可以随时去实地看看。", "检测报告和入网证书都在这儿，您可以逐项核对。",
         "Our audited accounts are public and I'm happy to send them over.",
         "We have over 300 units in service and a failure rate below 0.3%."],
        ["嗯，好的。", "这纯属造谣，谁说的让他来对质！", "Okay, sure.", "Who told you that? Give me a name."]),
    ("price", "immediate_discount"): (
        ["好的，我直接给您降百分之十，就按这个价签。", "行，那我们就跟他们一个价。", "OK, I'll knock 10% off right now.",
         "Fine, we'll match their price."],
        ["如果您签三年的框架协议，我们可以再让三个点。", "降价这个事我不能马上答应，得回去申请。",
         "If you commit to a three-year term, we can take three points off.", "I can't promise a cut, but I'll ask my director."]),
    ("price", "probes_reason"): (
        ["您这次特别看重价格，是预算上有什么变化吗？", "以前用过的供应商里，有没有哪家报价低但最后总成本很高的？",
         "Can I ask what's driving the focus on price this time?",
         "How did your last supplier's project go — where did it go over budget?"],
        ["我给您打个九折，您看行吗？", "我们的设备一年能省十二万电费。", "I'll take 5% off — how's that?",
         "Our machine saves you twelve thousand a year in electricity."]),
    ("price", "leaves_room"): (
        ["价格不是不能谈，但我得先回去跟领导申请一下。", "价格还有商量的余地，等您需求定了我们再细谈。",
         "There's some flexibility on price, but let me check with my director first.",
         "Price isn't off the table; it depends on your final volumes."],
        ["好，我直接给您降五个点。", "我们的原材料成本涨了两成，真的降不了。", "Fine, ten percent off, done.",
         "Our raw material costs went up 20%, so we can't go lower."]),
    ("price", "trades_concession"): (
        ["如果您能签三年的框架协议，单价我们可以再让三个点。", "只要您把全年的量都给我们，价格可以下调百分之五。",
         "If you commit to a three-year agreement, we can lower the unit price by 3%.",
         "We can bring the price down, provided the down payment goes up to 50%."],
        ["行，我直接给您降五个点。", "您以前的供应商为什么没续约？", "OK, five points off, no strings attached.",
         "Why didn't you renew with your last supplier?"]),
    ("price", "value_framing"): (
        ["咱们算一笔总账：单价高八千，但每年电费能省一万二，一年多就回本了。", "买便宜的耗材，打印头寿命缩短一半，总成本反而更高。",
         "Look at the total cost of ownership: it pays for itself in fourteen months.",
         "The cheaper option costs you more in downtime than the price difference."],
        ["我们这个月的指标还差两百万。", "好的，我给您打个九折。", "I'm two million short of my quarterly target.",
         "Fine, we'll match their price."]),
    ("price", "self_focused"): (
        ["我们这个季度的业绩压力很大，您就当帮帮我。", "我们公司规定折扣不能超过百分之五，我也没办法。",
         "I'm under pressure to hit my quota this month.", "Company policy says I can't go below this; my hands are tied."],
        ["这套系统能帮您每年省下三十万的人工费。", "您之前的供应商为什么没续约？",
         "This system saves your team three days of overtime a month.", "What happened with your previous supplier?"]),
}


# Hand-picked replies the detector gets wrong today, each with why; they stay listed (xfail, not strict) so a
# better model shows up as XPASS.
KNOWN_MISSES = {
    ("rumour", "humour", "那段时间我们项目经理头发都白了一半。"):
        "a bare quip without its context: the cue sees it, the embedding of the lone line outvotes the cue",
}


def _hand_cases() -> list:
    cases = [(d, b, t, True) for (d, b), (pos, _) in HAND.items() for t in pos]
    cases += [(d, b, t, False) for (d, b), (_, neg) in HAND.items() for t in neg]
    return [pytest.param(*case, marks=[pytest.mark.xfail(reason=KNOWN_MISSES[case[:3]], strict=False)]
                         if case[:3] in KNOWN_MISSES else []) for case in cases]


@pytest.mark.parametrize(("drill", "behaviour", "text", "expected"), _hand_cases())
def test_hand_picked(drill, behaviour, text, expected):
    found = detect_objection_behaviours(drill, text)[behaviour]
    assert found.present is expected, (text, found.evidence)
    assert all(quote in text for quote in found.evidence)


def test_negated_bashing_is_not_bashing_but_plain_bashing_is():
    for text in ["我不是说华信不好，只是您这个场景我们更合适。", "I'm not going to knock Huaxin; they're fine for budget jobs."]:
        assert not detect_objection_behaviours("rumour", text)["bashes_competitor"].present, text
    for text in ["华信的东西就是垃圾，用两年就坏。", "Huaxin's own kit breaks down every other month."]:
        assert detect_objection_behaviours("rumour", text)["bashes_competitor"].present, text


def test_a_conditional_concession_is_traded_not_immediate():
    for text in ["只要您签三年，我们就再让三个点。", "Sign for three years and we'll take three points off."]:
        found = detect_objection_behaviours("price", text)
        assert found["trades_concession"].present and not found["immediate_discount"].present, text


def test_a_defensive_reply_is_not_calm_and_a_good_one_is():
    angry = detect_objection_behaviours("rumour", "您怎么能信这种胡说八道？我们从来没出过问题！")
    assert angry["defensive"].present and not angry["calm"].present
    good = detect_objection_behaviours("rumour", "言归正传，咱们先把试点的三个科室定下来吧。")
    assert good["calm"].present and good["redirects"].present
    assert set(good["calm"].evidence) <= set(good["redirects"].evidence)  # calm is implied, with its quotes


def test_mixed_language_reply():
    found = detect_objection_behaviours("price", "我理解，but before we talk numbers, 您之前的供应商为什么没续约？")
    assert found["probes_reason"].present


def _copy_config(tmp_path: pathlib.Path, edit) -> pathlib.Path:
    data = yaml.safe_load(OBJECTIONS_FILE.read_text(encoding="utf-8"))
    edit(data)
    shutil.copytree(BANK, tmp_path / "objections_bank")
    path = tmp_path / "objections.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_learned_layer_can_be_turned_off_and_cues_still_work(tmp_path):
    path = _copy_config(tmp_path, lambda d: d["model"].update(learned=False))
    assert all(drill.learned is None for drill in load_objections(path, tmp_path / "cache").values())
    found = detect_objection_behaviours("price", "如果您签三年，单价我们可以再让三个点。", path, tmp_path / "cache")
    assert found["trades_concession"].evidence and not found["immediate_discount"].present
    assert not (tmp_path / "cache").exists(), "the cue layer alone trains nothing"


def test_the_product_detector_uses_the_learned_layer():
    for drill, spec in load_objections().items():
        assert spec.learned is not None, drill
        assert len(spec.learned.fusion.threshold) == len(OBJECTION_BEHAVIOURS[drill])


@pytest.mark.parametrize(("edit", "field"), [
    (lambda d: d["rumour"].pop("humour"), "rumour"),
    (lambda d: d["price"]["leaves_room"]["zh"].append("re:(unclosed"), "price.leaves_room.zh"),
    (lambda d: d["price"]["probes_reason"].update(vetoes=["x"]), "price.probes_reason"),
    (lambda d: d["rumour"]["calm"].update(blocked_by=["sarcasm"]), "rumour.calm.blocked_by"),
    (lambda d: d["model"].update(learned="yes"), "model"),
    (lambda d: d["model"].update(alpha=1.0), "model"),
])
def test_malformed_cue_file_names_the_field(tmp_path, edit, field):
    path = _copy_config(tmp_path, edit)
    with pytest.raises(LexiconError, match=field.replace(".", r"\.")):
        load_objections(path)
