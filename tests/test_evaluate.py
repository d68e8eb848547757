"""Tests of `python bot.py evaluate`: the metrics, the printed table and JSON, and the default backend's figures.

On the held-out set data/scoring/eval/ the default backend (fusion) measured macro-F1 0.878 zh / 0.850 en,
weakest class 0.760 / 0.772. The floors below sit just under those figures so that floating-point differences
between BLAS builds cannot fail CI; the note reports the measured figures. Speed is measured and printed by the
command, never asserted here (tests do not assert on wall-clock time).
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scoring.evaluate import TARGET_CLASS_F1, main, metrics
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
    run = subprocess.run([sys.executable, "bot.py", "evaluate", "--backend", "lexicon", "--lang", "en"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    lexicon = figures["backends"]["lexicon"]
    assert set(lexicon["langs"]) == {"en"}
    assert 0.6 < lexicon["langs"]["en"]["macro_f1"] < 0.8  # the keyword lexicon alone misses paraphrase
    assert lexicon["langs"]["en"]["replies_per_s"] > 1000


def test_an_unknown_backend_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["--backend", "bert"])
    assert "invalid choice" in capsys.readouterr().err
