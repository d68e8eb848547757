"""Tests of the embedding and fusion backends: probabilities, evidence, none for small talk, the numpy model, the cache.

Quality checks use the product's own classifiers (trained once per session, the same instances tests/conftest.py
loads); cache behaviour is tested on a small bank in a temporary data and cache directory, so it trains in about
a second and never touches var/cache/.
"""

from __future__ import annotations

import math
import pathlib
import shutil

import numpy as np
import pytest
import yaml

from scoring import embedding
from scoring.classifier import BACKENDS, DEFAULT_BACKEND, bank_path, build, classifier_by_name, default_classifier
from scoring.embedding import EmbeddingClassifier, cached_model, clause_spans, fit_softmax, load_bank, softmax
from scoring.fusion import FusionClassifier, jackknifed_lexicon_scores
from scoring.types import LABELS, MOTIVES, NONE

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module", params=["embedding", "fusion"])
def learned(request):
    return classifier_by_name(request.param)


def bank_sample(step: int = 20) -> list[str]:
    texts, _, _ = load_bank(bank_path())
    return texts[::step]


def test_backends_by_name_and_default():
    assert set(BACKENDS) == {"lexicon", "embedding", "fusion"}
    assert isinstance(classifier_by_name("embedding"), EmbeddingClassifier)
    assert isinstance(classifier_by_name("fusion"), FusionClassifier)
    assert classifier_by_name("fusion") is classifier_by_name("fusion", DATA)
    assert default_classifier() is classifier_by_name(DEFAULT_BACKEND) and DEFAULT_BACKEND == "fusion"
    assert {classifier_by_name(name).name for name in BACKENDS} == set(BACKENDS)
    with pytest.raises(ValueError, match="unknown backend"):
        classifier_by_name("bert")


def test_probabilities_cover_every_label_and_sum_to_one(learned):
    for text in [*bank_sample(), "", "您喝茶还是咖啡？", "x" * 9000]:
        result = learned.classify(text)
        assert set(result.scores) == set(LABELS)
        assert math.isclose(sum(result.scores.values()), 1.0, abs_tol=1e-9)
        assert all(0.0 <= p <= 1.0 for p in result.scores.values())
        assert result.scores[result.motive] == max(result.scores.values())


def test_evidence_quotes_the_reply_exactly(learned):
    for text in bank_sample(7):
        result = learned.classify(text)
        assert all(quote and quote in text for quote in result.evidence), (text, result.evidence)
        assert bool(result.evidence) == (result.motive != NONE)


def test_clause_evidence_when_the_lexicon_has_no_cue():
    clf = classifier_by_name("embedding")
    text = "Our engineers will sit next to yours for the first month. You'll be able to sleep at night."
    z, spans, clauses = clf.logits(text)
    quotes = clf.clause_evidence(text, spans, clauses, "security")
    assert 1 <= len(quotes) <= 2 and all(q in text and len(q) > 10 for q in quotes)


@pytest.mark.parametrize(
    "text",
    [
        "王主任好，今天路上有点堵，来晚了几分钟，不好意思。",
        "您喝茶还是咖啡？",
        "会议室我已经订好了，投影仪也调试过了。",
        "Sorry I'm late, the traffic was terrible.",
        "Did you catch the match last night?",
        "I'll send the brochure over this afternoon.",
        "",
        "😀😀😀",
    ],
)
def test_small_talk_carries_no_motive(learned, text):
    result = learned.classify(text)
    assert result.motive == NONE and result.evidence == ()


@pytest.mark.parametrize(
    "text, motive",
    [
        ("我们先在一个站点并行试点，老系统保留，出了任何问题由我们兜底负责，您这边零风险。", "security"),
        ("这个项目做成了，您就是全省第一家，省公司领导一看就知道是您主导的。", "status"),
        ("我把报价拆成了四项，每一项的单价、数量和交付时间都列在这张表上。", "details"),
        ("这次能顺利上线，多亏了您和信息科的同事们，功劳都是你们的。", "praise"),
        ("坦白讲，这个功能我们目前还做不到，我不想给您画大饼。", "candor"),
        ("If anything goes wrong we roll back within thirty minutes, and three utilities like yours run it.", "security"),
        ("You'd be the first utility in the province to do this, and everyone will know it was your call.", "status"),
        ("Here's the cost breakdown line by line, with milestones and acceptance criteria for each phase.", "details"),
        ("Your team did a great job on the cutover — the credit goes to your engineers.", "praise"),
        ("To be honest, we're more expensive than the competition, and there's one limitation you should know.", "candor"),
    ],
)
def test_clear_replies_in_both_languages(text, motive):
    result = default_classifier().classify(text)
    assert result.motive == motive and result.evidence


@pytest.mark.parametrize("value", [None, b"\xff\xfehonestly", 12345, "\ud800\udfff lone surrogates", "说实话" * 1400])
def test_odd_input_never_raises(learned, value):
    assert learned.classify(value).motive in LABELS


def test_clause_spans_are_stripped_substrings():
    text = "  王主任，出了问题我们负责到底。 Honestly, our price is higher, but it pays back. …!! "
    spans = clause_spans(text)
    pieces = [text[a:b] for a, b in spans]
    assert pieces == ["王主任", "出了问题我们负责到底", "Honestly", "our price is higher", "but it pays back"]
    assert clause_spans("") == [] and clause_spans("。。。") == []


def test_numpy_logistic_regression_learns_and_is_calibrated():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(len(LABELS), 8)) * 3
    y = np.repeat(np.arange(len(LABELS)), 40)
    x = centres[y] + rng.normal(size=(len(y), 8))
    w, b = fit_softmax(x, y, l2=1e-3, iterations=300)
    p = softmax(x @ w + b)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert (p.argmax(axis=1) == y).mean() > 0.95
    assert np.mean(np.log(p[np.arange(len(y)), y])) > -0.3


def test_jackknife_makes_the_lexicon_look_as_weak_on_the_bank_as_on_new_text():
    lexicon = classifier_by_name("lexicon")
    texts, y, _ = load_bank(bank_path())
    full = np.array([[lexicon.analyse(t)[2][label] for label in LABELS] for t in texts])
    jack = jackknifed_lexicon_scores(lexicon, texts)
    # the lexicon was tuned on most of the bank (0.80 over the whole of it); without the cues written for each
    # reply itself it falls to what it reaches on unseen text
    assert (full.argmax(axis=1) == y).mean() > 0.78
    assert 0.45 < (jack.argmax(axis=1) == y).mean() < (full.argmax(axis=1) == y).mean() - 0.1
    params = classifier_by_name("fusion").params
    assert 0 < params.weight <= 1.0 and all(v > 0.8 for v in params.cv_macro_f1.values())


@pytest.fixture
def small_data(tmp_path: pathlib.Path) -> pathlib.Path:
    """A data dir with the real lexicon and a bank of 8 replies per label per language."""
    (tmp_path / "scoring" / "bank").mkdir(parents=True)
    shutil.copy(DATA / "scoring" / "lexicon.yaml", tmp_path / "scoring" / "lexicon.yaml")
    for lang in ("zh", "en"):
        items = yaml.safe_load((DATA / "scoring" / "bank" / f"{lang}.yaml").read_text(encoding="utf-8"))
        picked = [item for label in LABELS for item in [i for i in items if i["label"] == label][:8]]
        (tmp_path / "scoring" / "bank" / f"{lang}.yaml").write_text(yaml.safe_dump(picked, allow_unicode=True),
                                                                  encoding="utf-8")
    return tmp_path


@pytest.fixture
def count_training(monkeypatch) -> list[pathlib.Path]:
    calls: list[pathlib.Path] = []
    real = embedding.train

    def counting(bank_dir):
        calls.append(bank_dir)
        return real(bank_dir)

    monkeypatch.setattr(embedding, "train", counting)
    return calls


def test_cached_model_is_reused_and_a_changed_bank_retrains(small_data, tmp_path, count_training):
    cache = tmp_path / "cache"
    bank = small_data / "scoring" / "bank"
    first = cached_model(bank, cache)
    assert len(count_training) == 1 and len(list(cache.glob("embedding-*.npz"))) == 1
    second = cached_model(bank, cache)
    assert len(count_training) == 1, "an unchanged bank must load from the cache"
    assert np.array_equal(first.w, second.w) and first.none_bias == second.none_bias
    with (bank / "en.yaml").open("a", encoding="utf-8") as handle:
        handle.write("- text: We'll put a named engineer on call for you around the clock.\n  label: security\n")
    third = cached_model(bank, cache)
    assert len(count_training) == 2 and len(third.labels) == len(first.labels) + 1
    assert len(list(cache.glob("embedding-*.npz"))) == 2


def test_a_damaged_cache_file_is_retrained(small_data, tmp_path, count_training):
    cache = tmp_path / "cache"
    cached_model(small_data / "scoring" / "bank", cache)
    next(cache.glob("embedding-*.npz")).write_bytes(b"not a model")
    cached_model(small_data / "scoring" / "bank", cache)
    assert len(count_training) == 2


def test_every_backend_builds_from_a_small_bank(small_data, tmp_path):
    for name in BACKENDS:
        clf = build(name, small_data, tmp_path / "cache")
        result = clf.classify("说实话，这个功能我们还没有，不想给您画大饼。")
        assert result.motive in MOTIVES and math.isclose(sum(result.scores.values()), 1.0, abs_tol=1e-9)


def test_a_bank_without_replies_is_a_clear_error(tmp_path):
    (tmp_path / "scoring" / "bank").mkdir(parents=True)
    shutil.copy(DATA / "scoring" / "lexicon.yaml", tmp_path / "scoring" / "lexicon.yaml")
    with pytest.raises(FileNotFoundError, match="no labelled replies"):
        build("embedding", tmp_path, tmp_path / "cache")
