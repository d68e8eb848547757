"""Tests of the learned layer of the objection detector (scoring/objection_model.py) and of its cache.

The numerics run on toy data. The cache is tested on a small bank (a few replies per file, copied from the real
one) in a temporary folder, so it trains in seconds and never touches var/cache/; `_load.__wrapped__` builds
afresh, bypassing the in-process memo, so only the disk cache can save a training. Evidence and the bank's
cross-validated figures use the product's detector (trained once per test session, as the bot does).
"""

from __future__ import annotations

import pathlib
import shutil

import numpy as np
import pytest
import yaml

from scoring import objection_cues, objection_model, objections
from scoring.embedding import clause_spans
from scoring.lexicon import normalise
from scoring.objection_model import Fusion, choose_fusion, fit_logistic, fold_ids, sigmoid, twin_groups
from scoring.objections import OBJECTION_BEHAVIOURS, OBJECTIONS_FILE, detect_objection_behaviours, load_objections

SMALL = 12  # replies per bank file in the small bank
build = objections._load.__wrapped__  # no in-process memo: the disk cache alone decides whether to train


@pytest.fixture
def small_config(tmp_path: pathlib.Path) -> pathlib.Path:
    """A copy of the cue file beside a bank of SMALL replies per drill and language."""
    (tmp_path / "objections_bank").mkdir()
    for path in sorted((OBJECTIONS_FILE.parent / "objections_bank").glob("*.yaml")):
        items = yaml.safe_load(path.read_text(encoding="utf-8"))[:SMALL]
        (tmp_path / "objections_bank" / path.name).write_text(yaml.safe_dump(items, allow_unicode=True), "utf-8")
    shutil.copy(OBJECTIONS_FILE, tmp_path / "objections.yaml")
    return tmp_path / "objections.yaml"


@pytest.fixture
def count_training(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = objection_model.train

    def spy(bank):
        calls.append(len(bank.texts))
        return real(bank)

    monkeypatch.setattr(objection_model, "train", spy)
    return calls


def test_cached_model_is_reused_and_a_changed_bank_retrains(small_config, tmp_path, count_training):
    cache = tmp_path / "cache"
    first = build(str(small_config), str(cache))
    assert count_training == [2 * SMALL, 2 * SMALL], "one training per drill, both languages together"
    assert len(list(cache.glob("objections-*-fusion-*.json"))) == 2 and len(list(cache.glob("*.npz"))) == 2
    second = build(str(small_config), str(cache))
    assert len(count_training) == 2, "an unchanged bank must load from the cache"
    for drill in OBJECTION_BEHAVIOURS:
        assert np.array_equal(first[drill].learned.w, second[drill].learned.w)
        assert first[drill].learned.fusion == second[drill].learned.fusion
    bank = small_config.parent / "objections_bank" / "price.en.yaml"
    bank.write_text(bank.read_text(encoding="utf-8") + '- text: "Fine, five percent off."\n'
                    "  behaviours: [immediate_discount]\n", encoding="utf-8")
    third = build(str(small_config), str(cache))
    assert count_training[2:] == [2 * SMALL + 1], "only the changed drill retrains"
    assert third["price"].learned.meta["n"] == 2 * SMALL + 1
    assert len(list(cache.glob("objections-price-*.npz"))) == 2 and len(list(cache.glob("objections-rumour-*"))) == 2
    data = yaml.safe_load(small_config.read_text(encoding="utf-8"))
    data["price"]["immediate_discount"]["en"].append("knock it down")
    small_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    build(str(small_config), str(cache))
    assert len(count_training) == 3, "a changed cue file re-chooses the fusion, it does not re-embed the bank"
    assert len(list(cache.glob("objections-*-fusion-*.json"))) == 5


def test_a_damaged_cache_is_retrained_and_the_detector_still_answers(small_config, tmp_path, count_training):
    cache = tmp_path / "cache"
    build(str(small_config), str(cache))
    for path in cache.iterdir():
        path.write_bytes(b"not a model")
    drills = build(str(small_config), str(cache))
    assert len(count_training) == 4
    assert all(drill.learned is not None for drill in drills.values())
    found = detect_objection_behaviours("rumour", "您说得对，那批货确实晚了。", small_config, cache)
    assert all(quote in "您说得对，那批货确实晚了。" for b in found.values() for quote in b.evidence)


def test_logistic_regression_separates_a_toy_problem():
    rng = np.random.default_rng(1)
    x = np.vstack([rng.normal(-1, 0.5, (100, 5)), rng.normal(1, 0.5, (100, 5))])
    y = np.array([[0.0, 1.0]] * 100 + [[1.0, 0.0]] * 100)
    w, b = fit_logistic(x, y, l2=1e-3)
    p = sigmoid(x @ w + b)
    assert ((p[:, 0] > 0.5) == (y[:, 0] > 0)).mean() > 0.97
    assert ((p[:, 1] > 0.5) == (y[:, 1] > 0)).mean() > 0.97


def test_a_reply_and_its_translation_share_a_fold():
    rng = np.random.default_rng(2)
    base = rng.normal(size=(40, 1536))
    x = np.vstack([base, base + rng.normal(scale=0.3, size=base.shape)])
    langs = ["zh"] * 40 + ["en"] * 40
    groups = twin_groups(x, langs)
    assert len(set(groups)) == 40 and all(groups[i] == groups[i + 40] for i in range(40))
    folds = fold_ids(groups)
    assert all(folds[i] == folds[i + 40] for i in range(40)) and set(folds) == set(range(5))


def test_fusion_trusts_a_perfect_cue_and_the_negation_veto():
    rng = np.random.default_rng(3)
    labels = rng.random((200, 3)) < 0.3
    labels[:, 2] = False
    labels[:5, 2] = True  # too few positives to learn: the cue layer alone decides
    oof = rng.normal(size=(200, 3)) - 1.0
    states = np.zeros((200, 3), dtype=int)
    states[:, 0] = labels[:, 0]  # a perfect cue
    states[:, 1] = rng.random(200) < 0.5  # a useless cue
    fusion = choose_fusion(oof, np.zeros((200, 3)), states, labels, ["zh", "en"] * 100)
    assert fusion.cv_f1[0] == 1.0 and fusion.cue_weight[0] >= 4
    assert fusion.learned == (True, True, False)
    decided = np.array([fusion.decide(oof[i], np.zeros(3), states[i]) for i in range(200)])
    assert np.array_equal(decided[:, 0], labels[:, 0]) and np.array_equal(decided[:, 2], states[:, 2] > 0)
    sure = Fusion((0.0,), (0.0,), (0.0,), (True,), (1.0,))
    assert sure.decide(np.array([9.0]), np.zeros(1), np.array([1]))[0]
    assert not sure.decide(np.array([9.0]), np.zeros(1), np.array([-1]))[0], "a cue seen only negated vetoes"


PARAPHRASES = {  # no cue phrase of their behaviour, so only the learned layer can find it
    "rumour": ["Honestly, the people spreading that have never set foot in our plant.",
               "他们那边的人连我们工厂的门都没进过。"],
}


def test_learned_only_behaviours_quote_one_clause_of_the_reply():
    learned_only = 0
    for drill, texts in PARAPHRASES.items():
        layer = load_objections()[drill].layer
        for text in texts:
            states = objection_cues.read(layer, normalise(text))
            for name, behaviour in detect_objection_behaviours(drill, text).items():
                if behaviour.present and not states[name] and not layer.relations[name].implied_by:
                    learned_only += 1
                    assert len(behaviour.evidence) == 1 and behaviour.evidence[0] in text
                    assert behaviour.evidence[0] in [text[a:b] for a, b in clause_spans(text)]
    assert learned_only >= 2, "the learned layer should find what no cue names"


# Out-of-fold F1 on the bank (jackknifed cues), mean of zh and en, a little under what was reached; the
# held-out figures are asserted in tests/test_evaluate.py.
CV_FLOORS = {"rumour": {"calm": 0.94, "defensive": 0.83, "bashes_competitor": 0.88, "redirects": 0.9,
                        "acknowledges": 0.93, "humour": 0.78, "confident": 0.9},
             "price": {"immediate_discount": 0.87, "probes_reason": 0.94, "leaves_room": 0.87,
                       "trades_concession": 0.9, "value_framing": 0.89, "self_focused": 0.9}}


@pytest.mark.parametrize("drill", list(OBJECTION_BEHAVIOURS))
def test_bank_cross_validation_floors(drill):
    learned = load_objections()[drill].learned
    assert learned.meta["version"] == objection_model.VERSION
    cv = dict(zip(OBJECTION_BEHAVIOURS[drill], learned.fusion.cv_f1, strict=True))
    assert all(cv[name] >= floor for name, floor in CV_FLOORS[drill].items()), cv
