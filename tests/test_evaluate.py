"""Tests of `python bot.py evaluate`: the metrics, the printed tables and JSON, the default backend's figures and the
objection detector's per-behaviour figures.

On the held-out set data/scoring/eval/ the default backend (fusion) measured macro-F1 0.878 zh / 0.850 en,
weakest class 0.760 / 0.772. The floors below sit just under those figures so that floating-point differences
between BLAS builds cannot fail CI; the note reports the measured figures. Speed is measured and printed by the
command, never asserted here (tests do not assert on wall-clock time). The objection detector (issue 4) is measured
on data/scoring/objections_eval/; OBJECTION_REACHED holds the per-behaviour F1 it reached there, and its floors sit
0.04 under them (one reply more or less moves a behaviour's F1 by about 0.02).
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scoring.evaluate import TARGET_CLASS_F1, behaviour_metrics, main, metrics
from scoring.objections import OBJECTION_BEHAVIOURS
from scoring.types import LABELS

ROOT = Path(__file__).resolve().parent.parent
# per language: (macro-F1, weakest class F1) the default backend reaches on the held-out set
REACHED = {"zh": (0.86, 0.75), "en": (0.84, 0.75)}


def test_metrics_on_a_known_example():
    gold = ["security", "security", "status", "none", "praise", "candor", "details", "none"]
    pred = ["security", "status", "status", "none", "praise", "candor", "details", "security"]
    m = metrics(gold, pred)
    assert m["n"] == 8 and m["accuracy"] == 0.75
    assert m["per_class_f1"]["security"] == 0.5 and m["per_class_f1"]["status"] == round(2 / 3, 4)
    assert m["per_class_f1"]["none"] == round(2 / 3, 4) and m["per_class_f1"]["details"] == 1.0
    assert m["confusion"][LABELS.index("none")][LABELS.index("security")] == 1
    assert sum(map(sum, m["confusion"])) == 8
    assert m["macro_f1"] == round(sum(m["per_class_f1"].values()) / 6, 4)


@pytest.fixture(scope="module")
def default_run() -> tuple[str, dict]:
    """One in-process run of the default backend on both languages, shared by the tests below."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--backend", "fusion"]) == 0
    text = out.getvalue()
    return text, json.loads(text.strip().splitlines()[-1])


def test_evaluate_prints_the_table_then_one_json_line(default_run):
    text, figures = default_run
    assert "confusion (rows gold, columns predicted)" in text
    assert "== fusion · zh" in text and "== fusion · en" in text
    assert "replies/s" in text and "memory MB" in text and "load s" in text
    assert figures["default"] == "fusion" and set(figures["backends"]) == {"fusion"}
    fusion = figures["backends"]["fusion"]
    assert fusion["load_s"] > 0 and fusion["memory_mb"] > 0
    for lang in ("zh", "en"):
        f = fusion["langs"][lang]
        assert set(f["per_class_f1"]) == set(LABELS) and len(f["confusion"]) == len(LABELS)
        assert sum(map(sum, f["confusion"])) == f["n"] >= 150
        assert 0 <= f["accuracy"] <= 1 and f["replies_per_s"] > 0


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_default_backend_on_the_held_out_set(default_run, lang):
    fusion = default_run[1]["backends"]["fusion"]
    f = fusion["langs"][lang]
    macro, weakest = REACHED[lang]
    assert f["macro_f1"] >= macro, f
    assert min(f["per_class_f1"].values()) >= max(weakest, TARGET_CLASS_F1), f["per_class_f1"]


def test_cli_runs_one_backend_and_language():
    run = subprocess.run([sys.executable, "bot.py", "evaluate", "--backend", "lexicon", "--lang", "en", "--motives-only"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    lexicon = figures["backends"]["lexicon"]
    assert set(lexicon["langs"]) == {"en"}
    assert 0.6 < lexicon["langs"]["en"]["macro_f1"] < 0.8  # the keyword lexicon alone misses paraphrase
    assert lexicon["langs"]["en"]["replies_per_s"] > 0  # measured and printed, never asserted against a clock


def test_an_unknown_backend_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--backend", "bert"])
    assert "invalid choice" in capsys.readouterr().err


# per drill and language: the held-out F1 each behaviour reached (measured once, never tuned on)
OBJECTION_REACHED = {
    ("rumour", "zh"): {"calm": 0.932, "defensive": 0.583, "bashes_competitor": 0.808, "redirects": 0.787,
                       "acknowledges": 0.964, "humour": 0.792, "confident": 0.769},
    ("rumour", "en"): {"calm": 0.926, "defensive": 0.545, "bashes_competitor": 0.880, "redirects": 0.769,
                       "acknowledges": 0.983, "humour": 0.786, "confident": 0.736},
    ("price", "zh"): {"immediate_discount": 0.716, "probes_reason": 0.931, "leaves_room": 0.909,
                      "trades_concession": 0.946, "value_framing": 0.857, "self_focused": 0.821},
    ("price", "en"): {"immediate_discount": 0.769, "probes_reason": 0.951, "leaves_room": 0.746,
                      "trades_concession": 0.873, "value_framing": 0.824, "self_focused": 0.814},
}
OBJECTION_MARGIN = 0.04


def test_behaviour_metrics_on_a_known_example():
    gold = [{"calm"}, {"calm", "humour"}, set(), {"defensive"}]
    pred = [{"calm"}, {"calm"}, {"calm"}, {"defensive", "bashes_competitor"}]
    m = behaviour_metrics(OBJECTION_BEHAVIOURS["rumour"], gold, pred)
    assert m["n"] == 4 and m["per_behaviour"]["calm"] == {"precision": 0.6667, "recall": 1.0, "f1": 0.8, "support": 2}
    assert m["per_behaviour"]["humour"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["per_behaviour"]["defensive"]["f1"] == 1.0 and m["per_behaviour"]["bashes_competitor"]["support"] == 0
    assert m["weakest"][1] == 0.0


def test_evaluate_prints_the_objection_table_and_json(default_run):
    text, figures = default_run
    assert "# objection behaviours" in text and "precision" in text and "target F1 >= 0.8" in text
    objections = figures["objections"]
    assert objections["load_s"] > 0 and objections["memory_mb"] > 0 and objections["target_f1"] == 0.8
    assert set(objections["drills"]) == set(OBJECTION_BEHAVIOURS)
    for drill, ids in OBJECTION_BEHAVIOURS.items():
        for lang in ("zh", "en"):
            f = objections["drills"][drill][lang]
            assert f["n"] >= 100 and f["replies_per_s"] > 0 and set(f["per_behaviour"]) == set(ids)
            for name, m in f["per_behaviour"].items():
                assert set(m) == {"precision", "recall", "f1", "support"} and m["support"] > 0, name
                assert f"{drill:<8}{lang:<5}{name:<20}" in text


@pytest.mark.parametrize(("drill", "lang"), list(OBJECTION_REACHED))
def test_objection_behaviours_on_the_held_out_set(default_run, drill, lang):
    per = default_run[1]["objections"]["drills"][drill][lang]["per_behaviour"]
    low = {name: per[name]["f1"] for name, reached in OBJECTION_REACHED[drill, lang].items()
           if per[name]["f1"] < reached - OBJECTION_MARGIN}
    assert not low, f"{drill}.{lang}: below the floors: {low}"


def test_cli_runs_one_part_only():
    run = subprocess.run([sys.executable, "bot.py", "evaluate", "--objections-only", "--lang", "en"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert figures["backends"] == {} and set(figures["objections"]["drills"]["price"]) == {"en"}
    assert "== lexicon" not in run.stdout and "# objection behaviours" in run.stdout
    run = subprocess.run([sys.executable, "bot.py", "evaluate", "--motives-only", "--backend", "lexicon", "--lang", "en"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(figures["backends"]) == {"lexicon"} and "objections" not in figures
    assert "# objection behaviours" not in run.stdout
