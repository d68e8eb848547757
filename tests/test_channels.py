"""Channel pieces: callback data parsing, message splitting, language choice, and the no-token console."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from channels.telegram.common import telegram_language
from channels.telegram.keyboards import Callback, decode, encode

ROOT = Path(__file__).resolve().parent.parent


def test_callback_data_round_trip():
    assert decode(encode("guess", 12, "candor")) == Callback("guess", 12, "candor")
    assert decode(encode("start")) == Callback("start", 0, "")


@pytest.mark.parametrize("data", [None, "", "guess", "guess|x|candor", "hack|1|x", "a|1|b|c", "guess|1|" + "x" * 70])
def test_forged_callback_data_is_rejected(data):
    assert decode(data) is None


def test_callback_data_over_64_bytes_is_refused_at_encoding():
    with pytest.raises(ValueError, match="over 64 bytes"):
        encode("again", 1, "热键" * 20)


@pytest.mark.parametrize(("code", "expected"), [("zh-hans", "zh"), ("zh-TW", "zh"), ("en-GB", "en"), ("de", "zh"),
                                                (None, "zh")])
def test_telegram_language(code, expected):
    assert telegram_language(code, "zh") == expected


def test_no_token_runs_an_interactive_drill_in_the_terminal(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.db'}"
    run = subprocess.run([sys.executable, "bot.py"], cwd=ROOT, env=env, text=True,
                         input="我们先小范围试点，出了问题我们兜底负责。\n/end\n", capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "TELEGRAM_BOT_TOKEN" in run.stdout and "@BotFather" in run.stdout  # how to connect Telegram
    assert "📋 拜访准备" in run.stdout and "📝 复盘" in run.stdout
