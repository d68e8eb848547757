"""Tests of the lexicon motive classifier: bank accuracy floors, probabilities, evidence, negation, none, hostile input.

The floors are what the lexicon actually reaches on its own development bank (data/scoring/bank/), which it
was tuned on; they guard against regressions, not against paraphrase it has never seen.
"""

from __future__ import annotations

import collections
import math
import pathlib

import pytest
import yaml

from scoring.classifier import classifier_by_name, default_classifier
from scoring.lexicon import LexiconClassifier, LexiconError
from scoring.types import LABELS, MOTIVES, NONE, Classification, MotiveClassifier

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"
BANK = DATA / "scoring" / "bank"
# per language: (accuracy, macro-F1, recall of every label) the lexicon keeps on the whole bank. It was tuned on
# the bank's first 87 replies per label (0.95 zh / 0.93 en there); the 50 per label added later ("batch 7") train
# the embedding model and were never tuned into the lexicon, hence the lower floors over the whole bank.
FLOORS = {"zh": (0.82, 0.82, 0.72), "en": (0.77, 0.77, 0.67)}


@pytest.fixture(scope="module")
def clf() -> MotiveClassifier:
    """These tests are of the lexicon backend itself (the default fuses it with embeddings)."""
    return classifier_by_name("lexicon")


def load_bank(lang: str) -> list[dict]:
    return yaml.safe_load((BANK / f"{lang}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bank_is_well_formed(lang: str) -> None:
    bank = load_bank(lang)
    assert all(set(item) == {"text", "label"} and item["label"] in LABELS for item in bank)
    counts = collections.Counter(item["label"] for item in bank)
    assert all(counts[label] >= 30 for label in LABELS), counts
    assert len({item["text"] for item in bank}) == len(bank), "duplicate replies"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bank_accuracy_floor(clf: MotiveClassifier, lang: str) -> None:
    bank = load_bank(lang)
    pairs = [(item["label"], clf.classify(item["text"]).motive) for item in bank]
    accuracy = sum(gold == got for gold, got in pairs) / len(pairs)
    f1s, recalls = [], {}
    for label in LABELS:
        tp = sum(gold == got == label for gold, got in pairs)
        predicted = sum(got == label for _, got in pairs)
        actual = sum(gold == label for gold, _ in pairs)
        precision, recalls[label] = tp / max(predicted, 1), tp / actual
        f1s.append(2 * precision * recalls[label] / (precision + recalls[label]) if tp else 0.0)
    min_accuracy, min_f1, min_recall = FLOORS[lang]
    assert accuracy >= min_accuracy
    assert sum(f1s) / len(f1s) >= min_f1
    assert min(recalls.values()) >= min_recall, recalls


def test_lexicon_backend_is_cached_per_path(clf: MotiveClassifier, tmp_path: pathlib.Path) -> None:
    assert classifier_by_name("lexicon") is clf and classifier_by_name("lexicon", DATA) is clf
    assert clf.name == "lexicon" and isinstance(clf, LexiconClassifier)
    assert default_classifier() is default_classifier(DATA)
    (tmp_path / "scoring").mkdir()
    (tmp_path / "scoring" / "lexicon.yaml").write_text(
        (DATA / "scoring" / "lexicon.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    other = classifier_by_name("lexicon", tmp_path)
    assert other is not clf and other is classifier_by_name("lexicon", tmp_path)


@pytest.mark.parametrize(
    "text, motive",
    [
        ("王主任，出了问题我们负责到底，合同里写明全额赔偿，您完全可以放心。", "security"),
        ("这个项目做成了，您就是全省第一家，省公司领导一看就知道是您主导的。", "status"),
        ("我把报价拆成了四项，每一项的单价、数量和交付时间都列在这张表上。", "details"),
        ("这次能顺利上线，多亏了您和信息科的同事们，功劳都是你们的。", "praise"),
        ("坦白讲，这个功能我们目前还做不到，我不想给您画大饼。", "candor"),
        (
            "If anything goes wrong, we roll back within thirty minutes, and three utilities like yours already run it.",
            "security",
        ),
        ("You'd be the first utility in the province to do this, and it's your call.", "status"),
        ("Here's the cost breakdown line by line, with milestones and acceptance criteria for each phase.", "details"),
        ("Your team did a great job on the cutover — the credit goes to your engineers.", "praise"),
        (
            "To be honest, we're more expensive than the competition, and there's one limitation you should know about.",
            "candor",
        ),
    ],
)
def test_clear_replies_in_both_languages(clf: MotiveClassifier, text: str, motive: str) -> None:
    result = clf.classify(text)
    assert result.motive == motive
    assert result.evidence and all(quote in text for quote in result.evidence)
    assert result.confidence == max(result.scores.values())


@pytest.mark.parametrize(
    "text",
    [
        "王主任好，今天路上有点堵，来晚了几分钟，不好意思。",
        "您喝茶还是咖啡？",
        "我们公司成立于2005年，总部在深圳。",
        "我们的产品性价比很高，功能也很全面。",
        "会议室我已经订好了，投影仪也调试过了。",
        "这个价格只到本周五，您今天就定了吧。",
        "Sorry I'm late, the traffic was terrible.",
        "Did you catch the match last night?",
        "We're a leading one-stop solution provider serving many industries.",
        "I'll send the brochure over this afternoon.",
        "You'd be crazy not to sign today — prices go up next month.",
        "",
    ],
)
def test_small_talk_logistics_pitch_and_hard_sell_carry_no_motive(clf: MotiveClassifier, text: str) -> None:
    result = clf.classify(text)
    assert result.motive == NONE
    assert result.evidence == ()
    assert result.scores[NONE] == max(result.scores.values())


def test_probabilities_cover_every_label_and_sum_to_one(clf: MotiveClassifier) -> None:
    for item in load_bank("zh")[::25] + load_bank("en")[::25]:
        result = clf.classify(item["text"])
        assert set(result.scores) == set(LABELS)
        assert math.isclose(sum(result.scores.values()), 1.0, abs_tol=1e-9)
        assert all(0.0 <= p <= 1.0 for p in result.scores.values())
        assert Classification.from_dict(result.to_dict()).motive == result.motive


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_evidence_quotes_the_reply_exactly(clf: MotiveClassifier, lang: str) -> None:
    for item in load_bank(lang):
        result = clf.classify(item["text"])
        assert all(quote and quote in item["text"] for quote in result.evidence)
        assert bool(result.evidence) == (result.motive != NONE)


def test_evidence_keeps_the_original_form_of_full_width_and_upper_case(clf: MotiveClassifier) -> None:
    text = "ＨＯＮＥＳＴＬＹ, our price is higher. 说实话，这是我们的短板。"
    result = clf.classify(text)
    assert result.motive == "candor"
    assert "ＨＯＮＥＳＴＬＹ" in result.evidence and "说实话" in result.evidence and "短板" in result.evidence


@pytest.mark.parametrize(
    "text, absent, expected",
    [
        ("不是为了面子，而是这套东西真的稳妥。", "status", "security"),
        ("跟面子没关系，关键是出了问题我们负责到底。", "status", "security"),
        ("咱们不谈什么行业第一，我只想保证您这边明年不出事。", "status", "security"),
        ("不是为了面子。", "status", NONE),
        ("This is not about prestige — it's about zero downtime for your hospital.", "status", "security"),
        (
            "It's not about being first in the province; it's about a fallback plan if anything goes wrong.",
            "status",
            "security",
        ),
        ("Prestige aside, here is the step-by-step timeline with a milestone for every week.", "status", "details"),
        ("This isn't about prestige.", "status", NONE),
    ],
)
def test_negation_frames_a_cue_away(clf: MotiveClassifier, text: str, absent: str, expected: str) -> None:
    result = clf.classify(text)
    assert result.motive == expected
    assert result.motive != absent


def test_a_negation_does_not_reach_across_a_clause(clf: MotiveClassifier) -> None:
    assert clf.classify("我不是来推销的，说实话这个方案有两个短板。").motive == "candor"
    assert (
        clf.classify("I'm not here to sell you anything, but honestly the interface has limitations.").motive
        == "candor"
    )


@pytest.mark.parametrize(
    "text, motive",
    [
        ("说实话, our Chinese support is still limited, 这是我们的短板。", "candor"),
        ("这个方案的 SLA 是 99.9%，也就是每个月的 downtime 不超过43分钟，分三个阶段实施。", "details"),
        ("Your team 真的很专业，上次的演练一次就过了，great job.", "praise"),
        ("您放心, we have a rollback plan and 二十多家医院 already running it.", "security"),
    ],
)
def test_mixed_language_replies(clf: MotiveClassifier, text: str, motive: str) -> None:
    result = clf.classify(text)
    assert result.motive == motive
    assert all(quote in text for quote in result.evidence)


def test_a_dominant_motive_beats_a_weaker_second_one(clf: MotiveClassifier) -> None:
    result = clf.classify("老实说风险不能说完全没有，但我们准备了三套预案，出了问题我们负责到底，能兜得住。")
    assert result.motive == "security"
    assert result.scores["candor"] > result.scores["status"]  # the weaker motive still shows


HOSTILE = [
    "",
    " \t\r\n ",
    "😀" * 1000,
    "说实话" * 1400,
    ("Honestly, our weak spot is the price. " * 120)[:4096],
    "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(4096)),
    "\x00\x01\x02\x1b[31m说实话\x7f\x9f",
    "\ud800\udfff lone surrogates",
    "مرحبا، بصراحة هذا عرض جيد",
    "Честно говоря, это дорого",
    "ความจริงคือ",
    "ﬁ ﬀ Ⅻ ① İstanbul ß" * 50,
    "a\u0301" * 500,
    "re:( [unclosed ... * \\",
    "不是不是不是" * 500,
    "\u200b\u200d\ufeff",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_never_raises(clf: MotiveClassifier, text: str) -> None:
    result = clf.classify(text)
    assert result.motive in LABELS
    assert math.isclose(sum(result.scores.values()), 1.0, abs_tol=1e-9)
    assert all(quote in text for quote in result.evidence)


@pytest.mark.parametrize("value", [None, b"\xff\xfehonestly", 12345, "x" * 100_000])
def test_non_text_and_oversized_input_never_raises(clf: MotiveClassifier, value: object) -> None:
    assert clf.classify(value).motive in LABELS  # type: ignore[arg-type]


def write_lexicon(tmp_path: pathlib.Path, body: str) -> pathlib.Path:
    path = tmp_path / "lexicon.yaml"
    path.write_text(body, encoding="utf-8")
    return path


MINIMAL = "motives:\n" + "".join(f"  {label}:\n    zh:\n      2: [{label}词]\n" for label in LABELS)


def test_a_minimal_lexicon_loads_and_classifies(tmp_path: pathlib.Path) -> None:
    clf = LexiconClassifier.from_file(write_lexicon(tmp_path, MINIMAL))
    assert clf.classify("这是candor词").motive == "candor"
    assert clf.classify("这是none词").motive == NONE
    assert {label for label in MOTIVES if clf.classify(f"{label}词").motive == label} == set(MOTIVES)


@pytest.mark.parametrize(
    "body, where",
    [
        ("motives: [1, 2]\n", "motives"),
        (MINIMAL.replace("[candor词]", "['re:(unclosed']"), "motives.candor.zh.2[0]"),
        (MINIMAL.replace("2: [praise词]", "-1: [praise词]"), "motives.praise.zh.-1"),
        (MINIMAL.replace("[details词]", "[status词]"), "under both status and details"),
        (MINIMAL + "settings: {none_prior: high}\n", "settings.none_prior"),
        ("motives: {security: {}}\n", "motives"),
        ("key: [unclosed\n", "lexicon.yaml"),
    ],
)
def test_a_broken_lexicon_names_the_file_and_field(tmp_path: pathlib.Path, body: str, where: str) -> None:
    with pytest.raises(LexiconError) as error:
        LexiconClassifier.from_file(write_lexicon(tmp_path, body))
    assert "lexicon.yaml" in str(error.value) and where in str(error.value)
