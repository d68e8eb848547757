"""CSV exports of a team's drills and of their exchanges, for trainers who work in Excel.

Files are UTF-8 with a byte-order mark, which is what makes Excel read Chinese correctly, with CRLF
line ends and stable English headers (the column names are an interface: add columns at the end,
never rename). Times are ISO 8601 to the second, keeping any UTC offset; a missing value is an empty
cell. Text that came from people (names, replies, reasons) is made safe against CSV injection: a
cell that starts with = + - @ (or a tab or carriage return, which Excel also reads as the start of
a formula) gets a leading single quote. Numbers the exporter formats itself are left alone, so a
score of -5 points stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from reports.views import DrillRow, ExchangeRow

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

DRILL_COLUMNS = (
    "drill_id", "team", "trainee_id", "trainee", "kind", "mode", "persona", "scenario", "level", "lang", "state",
    "score", "override_score", "final_score", "override_reason", "override_by", "identified_at", "early_window",
    "identified_in_time", "passed", "started_at", "ended_at",
)
EXCHANGE_COLUMNS = (
    "drill_id", "team", "trainee_id", "trainee", "mode", "persona", "seq", "speaker", "text", "motive",
    "confidence", "evidence", "reaction", "points", "created_at",
)
EVIDENCE_SEPARATOR = " | "

Cell = str | int | float | bool | datetime | None


def safe_text(value: str) -> str:
    """Text as a spreadsheet will show it, never run: a formula-like start is quoted with '."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, int | float):
        return str(value)
    return safe_text(value)


def _to_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell(value) for value in row] for row in rows)
    return (BOM + buffer.getvalue()).encode("utf-8")


def drill_cells(drill: DrillRow, pass_mark: int | None) -> list[Cell]:
    final = drill.final_score
    passed = None if pass_mark is None or not drill.finished or final is None else final >= pass_mark
    return [
        drill.id, drill.team, drill.trainee_id, drill.trainee_name, drill.kind, drill.mode, drill.persona,
        drill.scenario, drill.level, drill.lang, drill.state, drill.score, drill.override_score, final,
        drill.override_reason, drill.override_by, drill.identified_at, drill.early_window,
        drill.identified_in_time if drill.finished else None, passed, drill.started_at, drill.ended_at,
    ]


def drills_csv(drills: list[DrillRow], pass_mark: int | None = None) -> bytes:
    """One row per drill, in the order given; `passed` is empty unless a pass mark is given."""
    return _to_bytes(DRILL_COLUMNS, (drill_cells(drill, pass_mark) for drill in drills))


def exchange_cells(drill: DrillRow | None, row: ExchangeRow) -> list[Cell]:
    owner: list[Cell] = [None] * 4 if drill is None else [drill.team, drill.trainee_id, drill.trainee_name,
                                                        drill.mode]
    return [
        row.drill_id, *owner, drill.persona if drill else None, row.seq, row.speaker, row.text, row.motive,
        row.confidence, EVIDENCE_SEPARATOR.join(row.evidence), row.reaction, row.points, row.created_at,
    ]


def exchanges_csv(drills_by_id: dict[int, DrillRow], exchanges: list[ExchangeRow]) -> bytes:
    """One row per exchange, by drill and then sequence; drill columns stay empty for a drill not given."""
    ordered = sorted(exchanges, key=lambda e: (e.drill_id, e.seq))
    return _to_bytes(EXCHANGE_COLUMNS, (exchange_cells(drills_by_id.get(e.drill_id), e) for e in ordered))
