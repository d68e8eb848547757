"""A whole drill as plain text for the trainer, split into Telegram-sized messages, and the team leaderboard.

`render_transcript` writes a header (drill, trainee, persona, level, mode, the score with any override,
who made it and why) and then every exchange in order; each trainee reply shows the motive it was
classified as, the points it earned and the words that carried the motive, so a trainer can check any
score against what was said. `split_message` cuts the text at line boundaries into chunks Telegram
accepts (a single line that is too long is cut hard), and joining the chunks gives the text back
exactly. Lengths are counted in UTF-16 code units, as Telegram counts them, which is never less than
Python's character count, so every chunk is also at most 4,096 characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from reports.tables import NO_VALUE, Translate, format_number, label, score_text
from reports.views import DrillRow, ExchangeRow, OverrideRow

TELEGRAM_LIMIT = 4096
MEDALS = ("🥇", "🥈", "🥉")


def _units(text: str) -> int:
    """The length Telegram measures: UTF-16 code units (characters outside the BMP count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _hard_split(line: str, limit: int) -> list[str]:
    pieces, current, size = [], [], 0
    for char in line:
        width = _units(char)
        if size + width > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    pieces.append("".join(current))
    return pieces


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Chunks of at most `limit` UTF-16 units, cut after a line break where possible; "".join gives `text`."""
    if limit < 2:
        raise ValueError(f"limit must be at least 2, got {limit}")
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        width = _units(line)
        if current and size + width > limit:
            chunks.append("".join(current))
            current, size = [], 0
        if width > limit:
            *whole, rest = _hard_split(line, limit)
            chunks.extend(whole)
            current, size = [rest], _units(rest)
        else:
            current.append(line)
            size += width
    if current:
        chunks.append("".join(current))
    return chunks


def _time(moment: datetime | None) -> str:
    return NO_VALUE if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def _header(drill: DrillRow, overrides: Sequence[OverrideRow], lang: str, t: Translate,
            persona_names: dict[str, str]) -> list[str]:
    lines = [
        t(lang, "report.transcript.title", id=drill.id, trainee=drill.trainee_name),
        t(lang, "report.transcript.meta", persona=persona_names.get(drill.persona, drill.persona),
          level=label(lang, t, "level", drill.level), mode=label(lang, t, "mode", drill.mode)),
        t(lang, "report.transcript.scenario", scenario=drill.scenario),
        t(lang, "report.transcript.time", started=_time(drill.started_at),
          ended=_time(drill.ended_at) if drill.ended_at else t(lang, "report.score.open")),
        t(lang, "report.transcript.score", score=score_text(drill, lang, t)),
    ]
    if drill.identified_at is not None:
        key = "report.transcript.identified" if drill.identified_in_time else "report.transcript.identified_late"
        lines.append(t(lang, key, reply=drill.identified_at, window=drill.early_window))
    elif drill.ended_at is not None:
        lines.append(t(lang, "report.transcript.not_identified", window=drill.early_window))
    for override in sorted(overrides, key=lambda o: o.created_at):
        old = NO_VALUE if override.old_score is None else override.old_score
        lines.append(t(lang, "report.transcript.override", when=_time(override.created_at),
                       trainer=override.trainer_name, old=old, new=override.new_score, reason=override.reason))
    if not overrides and drill.override_score is not None:
        lines.append(t(lang, "report.transcript.override_latest", trainer=drill.override_by,
                       new=drill.override_score, reason=drill.override_reason))
    return lines


def _signed(points: int | None) -> str:
    return NO_VALUE if points is None else f"{points:+d}" if points else "0"


def _trainee_lines(row: ExchangeRow, number: int, lang: str, t: Translate) -> list[str]:
    motive = t(lang, f"motive.{row.motive}") if row.motive else NO_VALUE
    confidence = format_number(row.confidence * 100) + "%" if row.confidence is not None else NO_VALUE
    lines = [t(lang, "report.transcript.trainee", reply=number, text=row.text),
             t(lang, "report.transcript.scored", motive=motive, confidence=confidence, points=_signed(row.points))]
    if row.reaction:
        lines.append(t(lang, "report.transcript.reaction", reaction=label(lang, t, "reaction", row.reaction)))
    if row.evidence:
        quotes = " ".join(t(lang, "report.transcript.quote", quote=quote) for quote in row.evidence)
        lines.append(t(lang, "report.transcript.evidence", quotes=quotes))
    return lines


def _exchange_lines(row: ExchangeRow, number: int, lang: str, t: Translate) -> list[str]:
    if row.speaker == "trainee":
        return _trainee_lines(row, number, lang, t)
    if row.speaker == "guess":
        motive = t(lang, f"motive.{row.text}")
        return [t(lang, "report.transcript.guess", motive=row.text if motive == f"motive.{row.text}" else motive)]
    return [row.text]


def transcript_text(drill: DrillRow, exchanges: list[ExchangeRow], overrides: list[OverrideRow], lang: str,
                    t: Translate, persona_names: dict[str, str]) -> str:
    """The whole transcript as one text, before it is split for Telegram."""
    lines = _header(drill, overrides, lang, t, persona_names)
    lines += ["", t(lang, "report.transcript.conversation")]
    if not exchanges:
        lines.append(t(lang, "report.transcript.no_exchanges"))
    number = 0
    for row in sorted(exchanges, key=lambda e: e.seq):
        number += row.speaker == "trainee"
        lines += ["", *_exchange_lines(row, number, lang, t)]
    return "\n".join(lines)


def render_transcript(drill: DrillRow, exchanges: list[ExchangeRow], overrides: list[OverrideRow], lang: str,
                      t: Translate, persona_names: dict[str, str]) -> list[str]:
    """The drill's transcript as messages of at most 4,096 characters each, in order."""
    return split_message(transcript_text(drill, exchanges, overrides, lang, t, persona_names))


def leaderboard(rows: list[tuple[str, float, int]], lang: str, t: Translate, weeks: int = 4) -> str:
    """Trainees by average score (then by drills, then name); equal averages share a rank (1, 1, 3)."""
    lines = [t(lang, "report.leaderboard.title", weeks=weeks)]
    if not rows:
        return "\n".join([*lines, t(lang, "report.leaderboard.empty")])
    ordered = sorted(rows, key=lambda row: (-row[1], -row[2], row[0].casefold()))
    rank = 0
    for position, (name, average, drills) in enumerate(ordered, start=1):
        if position == 1 or average != ordered[position - 2][1]:
            rank = position
        place = MEDALS[rank - 1] if rank <= len(MEDALS) else f"{rank}."
        lines.append(t(lang, "report.leaderboard.line", rank=place, name=name, average=format_number(average),
                       drills=drills))
    return "\n".join(lines)
