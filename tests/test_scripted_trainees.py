"""Scripted trainees (tests/scripts/, written apart from the classifier): good ones score high, careless low.

Played through the console channel for every persona, level and language, and once through the CLI.
"""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from channels.console import run_console
from personas.catalog import DECK_HOT_BUTTONS
from personas.models import LEVELS

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "tests" / "scripts"
CASES = [(p, lang, level) for p in DECK_HOT_BUTTONS for lang in ("zh", "en") for level in LEVELS]


def play(services, t, persona, lang, level, kind, seed=11):
    script = (SCRIPTS / f"{persona}_{lang}_{kind}.txt").read_text(encoding="utf-8").splitlines()
    out, err = io.StringIO(), io.StringIO()
    run_console(services, t, lang, 3, seed, persona, level, script, as_json=True, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


@pytest.mark.parametrize(("persona", "lang", "level"), CASES)
def test_good_trainee_scores_at_least_80_and_identifies_early(services, t, persona, lang, level):
    result, transcript = play(services, t, persona, lang, level, "good")
    assert result["persona"] == persona and result["hot_button"] == DECK_HOT_BUTTONS[persona]
    assert result["score"] >= 80, transcript
    assert result["identified_at"] is not None and result["identified_at"] <= 3


@pytest.mark.parametrize(("persona", "lang", "level"), CASES)
def test_careless_trainee_scores_at_most_40(services, t, persona, lang, level):
    result, transcript = play(services, t, persona, lang, level, "careless")
    assert result["score"] <= 40, transcript


def test_console_cli_json_contract(tmp_path):
    script = tmp_path / "script.txt"
    script.write_text("/guess security\n我们先小范围试点，出了问题我们兜底。\n下周二能否安排一次现场试点？\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "bot.py", "console", "--persona", "fatalist", "--level", "beginner",
                          "--lang", "zh", "--seed", "5", "--script", str(script), "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert set(result) >= {"persona", "hot_button", "identified_at", "score", "breakdown"}
    assert result["identified_at"] == 1 and result["hot_button"] == "security"
    assert "复盘" in run.stderr  # the transcript and debrief go to stderr with --json


def test_classify_cli_json_lines():
    run = subprocess.run([sys.executable, "bot.py", "classify"], cwd=ROOT, capture_output=True, text=True,
                         input="出了问题我们负责兜底，您没有任何风险。\n\nThe weather is nice today.\n", timeout=120)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["出了问题我们负责兜底，您没有任何风险。", "The weather is nice today."]
    assert lines[0]["motive"] == "security" and lines[0]["evidence"]
    assert all(set(line) == {"text", "motive", "scores", "evidence"} for line in lines)
    assert all(abs(sum(line["scores"].values()) - 1) < 1e-3 for line in lines)
