"""The trainer reports: team table numbers, history and trend, transcripts split for Telegram, CSV, charts."""

from __future__ import annotations

import csv
import io
import struct
import unicodedata
import warnings
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import matplotlib.image
import pytest

from reports import charts
from reports.charts import MissingFontError, find_cjk_family, heatmap_png, trend_png
from reports.csv_export import DRILL_COLUMNS, EXCHANGE_COLUMNS, drills_csv, exchanges_csv
from reports.tables import Stats, team_table, trainee_history, weakest_persona
from reports.transcript import leaderboard, render_transcript, split_message, transcript_text
from reports.views import DrillRow, ExchangeRow, OverrideRow

NOW = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)  # a Wednesday; ISO week 23 runs from 3 to 9 June
PERSONAS_ZH = {"fatalist": "宿命论者", "aggressive": "激人怒者", "deliberate": "审时度势者", "relational": "关系通",
               "caring": "充满爱心者"}
PERSONAS_EN = {"fatalist": "The Fatalist", "aggressive": "The Aggressor", "deliberate": "The Deliberator",
               "relational": "The Relationship Builder", "caring": "The Caring One"}


def at(day: int, hour: int = 9, month: int = 6) -> datetime:
    return datetime(2024, month, day, hour, 0, tzinfo=UTC)


def drill(id: int, persona: str, mode: str, score: int | None, identified_at: int | None, ended: datetime | None,
          trainee_id: int = 1, name: str = "张伟", override: int | None = None, **changes: object) -> DrillRow:
    started = ended - timedelta(minutes=20) if ended else at(5, 10)
    row = DrillRow(id=id, team="销售一组", trainee_id=trainee_id, trainee_name=name, kind="hot_button", mode=mode,
                   persona=persona, scenario="power_supply", level="beginner", lang="zh",
                   state="debrief" if score is not None else ("abandoned" if ended else "probing"), score=score,
                   override_score=override, override_reason="她其实第二句就提到了兜底" if override else "",
                   override_by="王经理" if override else "", identified_at=identified_at, early_window=3,
                   started_at=started, ended_at=ended)
    return replace(row, **changes)


# Zhang Wei: practice 80 (this week, in time at reply 2) and 60 (last week, late at reply 4); assigned 50
# overridden to 75 (this week, never identified) and 40 (weeks ago, in time at reply 1); an open drill
# started today and an abandoned one without a score. Li Na: one assigned drill today.
DRILLS = [
    drill(1, "fatalist", "practice", 80, 2, at(4)),
    drill(2, "fatalist", "practice", 60, 4, at(28, month=5)),
    drill(3, "aggressive", "assigned", 50, None, at(3), override=75),
    drill(4, "aggressive", "assigned", 40, 1, at(20, month=5)),
    drill(5, "deliberate", "practice", None, None, None),
    drill(6, "caring", "practice", None, None, at(2)),
    drill(7, "relational", "assigned", 90, 3, at(5, 9), trainee_id=2, name="李娜"),
]


def test_team_table_numbers_match_hand_counts(t) -> None:
    text = team_table("销售一组", DRILLS, NOW, "zh", t, PERSONAS_ZH, pass_mark=70)
    assert text.splitlines() == [
        "📊 销售一组 · 2024 年第 23 周",
        "及格线：70 分（✅ 后为及格次数）",
        "各类客户（练习+考核合计）：",
        "次数 · 均分 · 按时识别率 · 平均第几句",
        "",
        "👤 张伟 · 最近活跃 06-05 10:00",
        "练习：本周 1 · 共 2 · 均 70 · ✅1",
        "考核：本周 1 · 共 2 · 均 57.5 · ✅1",
        "• 宿命论者 2 · 70 · 50% · 3",
        "• 激人怒者 2 · 57.5 · 50% · 1",
        "⚠️ 最弱：激人怒者（均 57.5）",
        "",
        "👤 李娜 · 最近活跃 06-05 09:00",
        "练习：暂无",
        "考核：本周 1 · 共 1 · 均 90 · ✅1",
        "• 关系通 1 · 90 · 100% · 3",
        "⚠️ 最弱：关系通（均 90）",
    ]


def test_team_table_in_english_keeps_lines_short(t) -> None:
    text = team_table("Team A", DRILLS, NOW, "en", t, PERSONAS_EN, pass_mark=70)
    assert "Practice: wk 1 · all 2 · avg 70 · ✅1" in text
    assert "Assigned: wk 1 · all 2 · avg 57.5 · ✅1" in text
    assert "⚠️ Weakest: The Aggressor (avg 57.5)" in text
    assert max(width(line) for line in text.splitlines() if "Relationship" not in line) <= 40


def width(line: str) -> int:
    """Columns on a phone: Chinese and emoji take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if c == "\ufe0f" else 1 for c in line)


def test_team_table_in_chinese_fits_a_phone(t) -> None:
    text = team_table("销售一组", DRILLS, NOW, "zh", t, PERSONAS_ZH, pass_mark=70)
    assert max(width(line) for line in text.splitlines()) <= 40


def test_overrides_are_the_final_score_and_the_pass_mark_counts_them() -> None:
    assigned = [d for d in DRILLS if d.mode == "assigned" and d.trainee_id == 1]
    assert Stats.of(assigned, pass_mark=70) == Stats(count=2, average=57.5, passed=1, in_time_rate=0.5,
                                                     average_reply=1.0)
    assert Stats.of(assigned, pass_mark=76).passed == 0


def test_week_follows_the_time_zone_of_now(t) -> None:
    # 23:30 UTC on Sunday 2 June is already Monday 3 June (week 23) in Beijing.
    late_sunday = drill(8, "fatalist", "practice", 90, 1, datetime(2024, 6, 2, 23, 30, tzinfo=UTC))
    beijing_now = NOW.astimezone(ZoneInfo("Asia/Shanghai"))
    assert "练习：本周 1 · 共 1" in team_table("T", [late_sunday], beijing_now, "zh", t, PERSONAS_ZH, 70)
    assert "练习：本周 0 · 共 1" in team_table("T", [late_sunday], NOW, "zh", t, PERSONAS_ZH, 70)


def test_weakest_persona_ties_go_to_catalog_order() -> None:
    tied = [drill(1, "caring", "practice", 50, 1, at(4)), drill(2, "fatalist", "practice", 50, 1, at(4))]
    assert weakest_persona(tied, PERSONAS_ZH, 70) == "fatalist"
    assert weakest_persona([drill(5, "deliberate", "practice", None, None, None)], PERSONAS_ZH, 70) is None


def test_empty_team(t) -> None:
    assert team_table("销售一组", [], NOW, "zh", t, PERSONAS_ZH, 70).endswith("这个团队还没有练习记录。")


def test_trainee_history_latest_first_with_overrides_and_trend(t) -> None:
    mine = [d for d in DRILLS if d.trainee_id == 1]
    assert trainee_history("张伟", mine, "zh", t, PERSONAS_ZH, 70).splitlines() == [
        "📈 张伟 · 练习记录（最近的在前）",
        "及格线：70 分（✅ 后为及格次数）",
        "#5 06-05 审时度势者 · 初级 · 练习 · 进行中",
        "#1 06-04 宿命论者 · 初级 · 练习 · 80 ✅",
        "#3 06-03 激人怒者 · 初级 · 考核 · 50→75 ✅",
        "#6 06-02 充满爱心者 · 初级 · 练习 · 未计分",
        "#2 05-28 宿命论者 · 初级 · 练习 · 60 ❌",
        "#4 05-20 激人怒者 · 初级 · 考核 · 40 ❌",
        "",
        "练习趋势：前半段均 60 → 后半段均 80 ↑",
        "考核趋势：前半段均 40 → 后半段均 75 ↑",
    ]


def test_trend_needs_two_drills_and_can_fall(t) -> None:
    falling = [drill(1, "fatalist", "assigned", 90, 1, at(1)), drill(2, "fatalist", "assigned", 85, 1, at(2)),
               drill(3, "fatalist", "assigned", 70, 1, at(3))]
    text = trainee_history("Li", falling, "en", t, PERSONAS_EN, 70)
    assert text.splitlines()[-1] == "Assigned trend: first half 90 → second half 70 ↓"
    single = trainee_history("Li", falling[:1], "en", t, PERSONAS_EN, 70)
    assert single.splitlines()[-1] == "Assigned trend: needs at least 2 finished drills"


def _exchange(seq: int, speaker: str, text: str, **scored: object) -> ExchangeRow:
    values = {"motive": None, "confidence": None, "evidence": (), "reaction": None, "points": None}
    return ExchangeRow(drill_id=3, seq=seq, speaker=speaker, text=text, created_at=at(3), **(values | scored))


EXCHANGES = [
    _exchange(1, "coach", "📋 拜访准备 · 初级\n行业：电力"),
    _exchange(2, "customer", "🗣 王主任：前年换了一批终端，出了两次故障。"),
    _exchange(3, "trainee", "我们先在一个站点并行试点，出了任何问题由我们兜底负责。", motive="security",
              confidence=0.82, evidence=("兜底", "负责"), reaction="hit", points=40),
    _exchange(4, "guess", "security"),
    _exchange(5, "trainee", "现在签约今天就给您最低价！", motive="none", confidence=0.4, reaction="dislike",
              points=-5),
]
OVERRIDES = [OverrideRow(3, 50, 75, "她其实第二句就提到了兜底", "王经理", at(4, 8))]


def test_transcript_shows_score_override_motive_points_and_evidence(t) -> None:
    text = transcript_text(DRILLS[2], EXCHANGES, OVERRIDES, "zh", t, PERSONAS_ZH)
    lines = text.splitlines()
    assert lines[:7] == [
        "📄 练习 #3 · 张伟", "客户：激人怒者 · 初级 · 考核", "场景：power_supply",
        "时间：2024-06-03 08:40 → 2024-06-03 09:00", "得分：50→75", "没有识别出热键（目标是前 3 句内）",
        "✏️ 2024-06-04 08:00 王经理 改分 50→75，理由：她其实第二句就提到了兜底",
    ]
    assert "💬 学员第 1 句：我们先在一个站点并行试点，出了任何问题由我们兜底负责。" in lines
    assert "   ↳ 动机：安全感（82%）· 得分 +40" in lines
    assert "   ↳ 依据：「兜底」 「负责」" in lines
    assert "🔍 学员说出热键：安全感" in lines
    assert "💬 学员第 2 句：现在签约今天就给您最低价！" in lines
    assert "   ↳ 动机：无明确动机（40%）· 得分 -5" in lines
    assert lines.index("🗣 王主任：前年换了一批终端，出了两次故障。") < lines.index("🔍 学员说出热键：安全感")


def test_long_transcript_splits_under_the_limit_and_loses_nothing(t) -> None:
    chatty = [_exchange(i, "trainee", f"第 {i} 句：" + "我们兜底负责，" * 40, motive="security", confidence=0.9,
                        evidence=("兜底",), reaction="hit", points=5) for i in range(1, 60)]
    huge = _exchange(60, "customer", "😀" * 2500 + "长" * 5000)  # one line of 10,000 UTF-16 units
    text = transcript_text(DRILLS[2], [*chatty, huge], OVERRIDES, "zh", t, PERSONAS_ZH)
    chunks = render_transcript(DRILLS[2], [*chatty, huge], OVERRIDES, "zh", t, PERSONAS_ZH)
    assert len(chunks) > 3
    assert "".join(chunks) == text
    assert all(len(c.encode("utf-16-le")) // 2 <= 4096 for c in chunks)
    assert all(c.endswith("\n") for c in chunks[:-4])  # cut at line ends until the huge line


def test_split_message_boundaries() -> None:
    exact = "a" * 4095 + "\n"
    assert split_message(exact + "b") == [exact, "b"]
    assert split_message("x" * 10_000) == ["x" * 4096, "x" * 4096, "x" * 1808]
    assert split_message("😀" * 3000) == ["😀" * 2048, "😀" * 952]  # an emoji is two UTF-16 units
    assert split_message("") == []
    with pytest.raises(ValueError, match="^limit must be at least 2, got 1$"):
        split_message("abc", limit=1)


def test_leaderboard_ranks_ties_together(t) -> None:
    rows = [("李娜", 81.25, 4), ("张伟", 90.0, 6), ("王芳", 81.25, 2), ("赵磊", 60.0, 1)]
    assert leaderboard(rows, "zh", t).splitlines() == [
        "🏆 排行榜 · 近 4 周平均分",
        "🥇 张伟 · 均 90 分 · 6 次",
        "🥈 李娜 · 均 81.3 分 · 4 次",
        "🥈 王芳 · 均 81.3 分 · 2 次",
        "4. 赵磊 · 均 60 分 · 1 次",
    ]
    assert leaderboard([], "en", t).splitlines()[-1] == "No finished drills in this period yet."


def _read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_drills_csv_round_trips_chinese_and_is_injection_safe() -> None:
    hostile = replace(DRILLS[2], trainee_name="=HYPERLINK(\"http://x\")", override_reason="-1+2 分，@王经理",
                      override_by="+86 138")
    rows = _read_csv(drills_csv([DRILLS[0], hostile, DRILLS[4]], pass_mark=70))
    assert tuple(rows[0]) == DRILL_COLUMNS
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["team"] == "销售一组" and first["trainee"] == "张伟" and first["final_score"] == "80"
    assert first["started_at"] == "2024-06-04T08:40:00+00:00" and first["passed"] == "true"
    assert first["identified_in_time"] == "true"
    second = dict(zip(rows[0], rows[2], strict=True))
    assert second["trainee"] == "'=HYPERLINK(\"http://x\")"
    assert second["override_reason"] == "'-1+2 分，@王经理" and second["override_by"] == "'+86 138"
    assert (second["score"], second["override_score"], second["final_score"]) == ("50", "75", "75")
    open_drill = dict(zip(rows[0], rows[3], strict=True))
    assert open_drill["ended_at"] == open_drill["score"] == open_drill["passed"] == ""
    assert _read_csv(drills_csv([DRILLS[0]]))[1][DRILL_COLUMNS.index("passed")] == ""


def test_exchanges_csv_keeps_negative_points_as_numbers_and_quotes_formulas() -> None:
    hostile = _exchange(6, "trainee", "=1+1 还是 @SUM(A1)？", motive="candor", evidence=("坦诚", "说实话"),
                        points=-10)
    orphan = replace(EXCHANGES[1], drill_id=99)
    rows = _read_csv(exchanges_csv({3: DRILLS[2]}, [hostile, *EXCHANGES, orphan]))
    assert tuple(rows[0]) == EXCHANGE_COLUMNS
    by_seq = {(r[0], r[6]): dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_seq["3", "6"]["text"] == "'=1+1 还是 @SUM(A1)？"
    assert by_seq["3", "6"]["points"] == "-10" and by_seq["3", "6"]["evidence"] == "坦诚 | 说实话"
    assert by_seq["3", "3"]["trainee"] == "张伟" and by_seq["3", "3"]["confidence"] == "0.82"
    assert by_seq["3", "1"]["text"] == "📋 拜访准备 · 初级\n行业：电力"
    assert by_seq["99", "2"]["trainee"] == "" and by_seq["99", "2"]["created_at"] == "2024-06-03T09:00:00+00:00"
    assert [r[6] for r in rows[1:5]] == ["1", "2", "3", "4"]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


TRAINEES = ["张伟", "李娜", "Wang Fang"]
RATES = [[1.0, 0.5, None], [0.0, None, 0.75], [2 / 3, 0.1, None]]
POINTS = [(at(d), s) for d, s in [(1, 45), (3, 66), (8, 71), (15, 64), (22, 85)]]


def test_trend_png_is_valid_and_deterministic() -> None:
    data = trend_png(POINTS, "张伟 · 得分趋势（考核）", 70)
    width, height = _png_size(data)
    assert (width, height) == (1200, 675)
    assert matplotlib.image.imread(io.BytesIO(data)).shape[:2] == (height, width)
    assert trend_png(POINTS, "张伟 · 得分趋势（考核）", 70) == data
    assert b"matplotlib" not in data  # no Software metadata
    assert _png_size(trend_png(POINTS[:1], "一次", 70)) == (1200, 675)
    assert _png_size(trend_png([], "还没有", 70)) == (1200, 675)


def test_heatmap_png_is_valid_and_sized_by_the_grid() -> None:
    data = heatmap_png(TRAINEES, ["宿命论者", "激人怒者", "审时度势者"], RATES, "销售一组 · 按时识别率")
    width, height = _png_size(data)
    assert matplotlib.image.imread(io.BytesIO(data)).shape[:2] == (height, width)
    assert heatmap_png(TRAINEES, ["宿命论者", "激人怒者", "审时度势者"], RATES, "销售一组 · 按时识别率") == data
    assert _png_size(heatmap_png([], [], [], "空")) == (900, 450)


def test_heatmap_rejects_a_ragged_grid() -> None:
    with pytest.raises(ValueError, match=r"^rates row of '李娜' has 2 values but there are 3 personas$"):
        heatmap_png(TRAINEES, ["a", "b", "c"], [[0.1, 0.2, 0.3], [0.1, 0.2], [None, None, None]], "x")
    with pytest.raises(ValueError, match=r"^rate of '张伟' must be between 0 and 1, got 67$"):
        heatmap_png(TRAINEES[:1], ["a"], [[67]], "x")


def test_chinese_charts_emit_no_missing_glyph_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trend_png(POINTS, "张伟 · 得分趋势", 70)
        heatmap_png(TRAINEES, ["宿命论者", "激人怒者", "充满爱心者"], RATES, "按时识别率（学员 × 客户类型）")
    assert [str(w.message) for w in caught] == []


def test_without_a_cjk_font_chinese_would_be_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control for the test above: with only DejaVu Sans, matplotlib does warn about the Chinese glyphs."""
    monkeypatch.setattr(charts, "cjk_family", lambda: "DejaVu Sans")
    with pytest.warns(UserWarning, match="missing from font"):
        trend_png(POINTS, "得分趋势", 70)


def test_missing_cjk_font_names_the_package() -> None:
    with pytest.raises(MissingFontError) as error:
        find_cjk_family(("No Such Font",))
    assert str(error.value) == ("no font for Chinese found for charts (looked for: No Such Font); "
                                "install one, e.g. `apt-get install fonts-wqy-microhei` on Debian or Ubuntu")
