"""`python bot.py export`: a team's drills and exchanges as CSV files from the command line."""

import asyncio
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from channels.coach import Coach
from storage.migrate import upgrade
from storage.repository import Store
from storage.teams import Teams

ROOT = Path(__file__).resolve().parent.parent


async def _seed(url: str, services, t) -> int:
    store = Store(url)
    try:
        teams = Teams(store)
        team = await teams.create("销售一组", 1)
        await store.upsert_user(5, "张伟", None, "zh")
        await teams.join(team.invite_code, 5)
        coach = Coach(store, services, t, early_window=3)
        await coach.start(5, "zh", "fatalist", "beginner")
        await coach.reply(5, "我们先小范围试点，出了问题我们兜底负责。")
        outcome = await coach.end(5)
        return outcome.drill_id
    finally:
        await store.close()


def test_export_writes_both_csv_files(tmp_path, services, t):
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    upgrade(url)
    drill_id = asyncio.run(_seed(url, services, t))
    env = {**os.environ, "DATABASE_URL": url}
    out = tmp_path / "team.csv"
    run = subprocess.run([sys.executable, "bot.py", "export", "--team", "销售一组", "--out", str(out)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    drills = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert [(r["drill_id"], r["trainee"], r["persona"]) for r in drills] == [(str(drill_id), "张伟", "fatalist")]
    exchanges = (tmp_path / "team-exchanges.csv").read_bytes().decode("utf-8-sig")
    assert "我们先小范围试点" in exchanges
    missing = subprocess.run([sys.executable, "bot.py", "export", "--team", "nobody"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "--team 'nobody': no such team" in missing.stderr
