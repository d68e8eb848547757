"""Score logs as plain text for a phone: the trainer's team table and one trainee's history with its trend.

Both are rendered from DrillRow view rows, with no parse mode, one short block per trainee rather than a
wide grid, because Telegram on a phone neither aligns columns nor shows long lines. A drill counts in
averages and rates once it is finished (ended with a score); the final score is the latest trainer
override if there is one, else the bot's score. Practice and assigned drills are counted and averaged
apart. "This week" is the ISO week of `now`, with drill times taken into the time zone of `now` when
both are aware. Every word comes from the `report.*` locale keys through the translator `t`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from reports.views import DrillRow

Translate = Callable[..., str]
MODES = ("practice", "assigned")
NO_VALUE = "–"


def format_number(value: float | None) -> str:
    """72 for a whole number, 72.5 otherwise (one decimal, half rounded up); "–" for nothing."""
    if value is None:
        return NO_VALUE
    rounded = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{rounded:f}".rstrip("0").rstrip(".") if rounded else "0"


def label(lang: str, t: Translate, section: str, value: str) -> str:
    """The localized name of a level or mode; the raw id when the locale has none."""
    key = f"report.{section}.{value}"
    text = t(lang, key)
    return value if text == key else text


def format_rate(value: float | None) -> str:
    """A share as a whole percentage, half rounded up: 2/3 -> "67%"; "–" for nothing."""
    if value is None:
        return NO_VALUE
    return f"{Decimal(str(value * 100)).quantize(Decimal(1), rounding=ROUND_HALF_UP)}%"


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class Stats:
    """The numbers of one group of drills (a trainee's, or one persona's, or one mode's)."""

    count: int
    average: float | None
    passed: int
    in_time_rate: float | None  # share of finished drills identified inside the early window
    average_reply: float | None  # mean reply number of identification, over drills identified at all

    @classmethod
    def of(cls, drills: Iterable[DrillRow], pass_mark: int) -> Stats:
        done = [d for d in drills if d.finished]
        scores = [d.final_score for d in done if d.final_score is not None]
        replies = [d.identified_at for d in done if d.identified_at is not None]
        return cls(count=len(done), average=mean(scores), passed=sum(s >= pass_mark for s in scores),
                   in_time_rate=(sum(d.identified_in_time for d in done) / len(done)) if done else None,
                   average_reply=mean(replies))


def _local(moment: datetime, now: datetime) -> datetime:
    """`moment` in the time zone of `now` when both are aware; naive times are taken as they are."""
    if moment.tzinfo is not None and now.tzinfo is not None:
        return moment.astimezone(now.tzinfo)
    return moment


def in_week_of(drill: DrillRow, now: datetime) -> bool:
    return _local(drill.active_at, now).isocalendar()[:2] == now.isocalendar()[:2]


def persona_order(drills: Iterable[DrillRow], persona_names: dict[str, str]) -> list[str]:
    """Personas in the catalog's order (the order of `persona_names`), unknown ones after, by id."""
    seen = {d.persona for d in drills}
    known = [p for p in persona_names if p in seen]
    return known + sorted(seen - set(known))


def weakest_persona(drills: Sequence[DrillRow], persona_names: dict[str, str], pass_mark: int) -> str | None:
    """The persona with the lowest average final score among those with a finished drill; ties go to catalog order."""
    averages = [(Stats.of([d for d in drills if d.persona == p], pass_mark).average, i, p)
                for i, p in enumerate(persona_order(drills, persona_names))]
    scored = [(avg, i, p) for avg, i, p in averages if avg is not None]
    return min(scored)[2] if scored else None


def _mode_line(lang: str, t: Translate, mode: str, drills: Sequence[DrillRow], now: datetime, pass_mark: int) -> str:
    of_mode = [d for d in drills if d.mode == mode]
    stats = Stats.of(of_mode, pass_mark)
    name = label(lang, t, "mode", mode)
    if not stats.count:
        return t(lang, "report.team.mode_none", mode=name)
    week = sum(1 for d in of_mode if d.finished and in_week_of(d, now))
    return t(lang, "report.team.mode_line", mode=name, week=week, total=stats.count,
             average=format_number(stats.average), passed=stats.passed)


def _when(moment: datetime, now: datetime) -> str:
    local = _local(moment, now)
    return local.strftime("%m-%d %H:%M") if local.year == now.year else local.strftime("%Y-%m-%d")


def trainee_block(drills: Sequence[DrillRow], now: datetime, lang: str, t: Translate,
                  persona_names: dict[str, str], pass_mark: int) -> list[str]:
    """One trainee's lines of the team table; `drills` are all of that trainee's drills."""
    last = max(drills, key=lambda d: _local(d.active_at, now)).active_at
    lines = [t(lang, "report.team.trainee", name=drills[0].trainee_name, last=_when(last, now))]
    lines += [_mode_line(lang, t, mode, drills, now, pass_mark) for mode in MODES]
    lines += [_mode_line(lang, t, mode, drills, now, pass_mark)
              for mode in sorted({d.mode for d in drills} - set(MODES))]
    for persona in persona_order([d for d in drills if d.finished], persona_names):
        stats = Stats.of([d for d in drills if d.persona == persona], pass_mark)
        lines.append(t(lang, "report.team.persona_line", persona=persona_names.get(persona, persona),
                       count=stats.count, average=format_number(stats.average),
                       rate=format_rate(stats.in_time_rate), reply=format_number(stats.average_reply)))
    weakest = weakest_persona(drills, persona_names, pass_mark)
    if weakest is not None:
        average = Stats.of([d for d in drills if d.persona == weakest], pass_mark).average
        lines.append(t(lang, "report.team.weakest", persona=persona_names.get(weakest, weakest),
                       average=format_number(average)))
    return lines


def team_table(team_name: str, drills: list[DrillRow], now: datetime, lang: str, t: Translate,
               persona_names: dict[str, str], pass_mark: int = 70) -> str:
    """The team's score log: a header, a legend, then one block per trainee, sorted by name."""
    year, week, _ = now.isocalendar()
    lines = [t(lang, "report.team.title", team=team_name, year=year, week=week),
             t(lang, "report.team.pass_mark", pass_mark=pass_mark)]
    if not drills:
        return "\n".join([*lines, t(lang, "report.team.empty")])
    lines.append(t(lang, "report.team.legend"))
    by_trainee: dict[int, list[DrillRow]] = {}
    for drill in drills:
        by_trainee.setdefault(drill.trainee_id, []).append(drill)
    for trainee_id in sorted(by_trainee, key=lambda i: (by_trainee[i][0].trainee_name.casefold(), i)):
        lines.append("")
        lines += trainee_block(by_trainee[trainee_id], now, lang, t, persona_names, pass_mark)
    return "\n".join(lines)


def score_text(drill: DrillRow, lang: str, t: Translate) -> str:
    """The bot's score, "72→80" when a trainer overrode it, or a word for an open or unscored drill."""
    if drill.override_score is not None:
        original = NO_VALUE if drill.score is None else str(drill.score)
        return f"{original}→{drill.override_score}"
    if drill.score is not None:
        return str(drill.score)
    return t(lang, "report.score.open" if drill.ended_at is None else "report.score.unscored")


def pass_sign(drill: DrillRow, pass_mark: int) -> str:
    if not drill.finished or drill.final_score is None:
        return ""
    return "✅" if drill.final_score >= pass_mark else "❌"


def trend(scores: Sequence[int]) -> tuple[float, float, str] | None:
    """First-half and second-half averages (the middle one of an odd count left out) and an arrow."""
    half = len(scores) // 2
    if half == 0:
        return None
    first, second = sum(scores[:half]) / half, sum(scores[-half:]) / half
    arrow = "↑" if second > first else "↓" if second < first else "→"
    return first, second, arrow


def trainee_history(name: str, drills: list[DrillRow], lang: str, t: Translate, persona_names: dict[str, str],
                    pass_mark: int = 70) -> str:
    """Every drill of one trainee, latest first, then the score trend of each mode they practised."""
    ordered = sorted(drills, key=lambda d: (d.active_at, d.id), reverse=True)
    lines = [t(lang, "report.history.title", name=name), t(lang, "report.team.pass_mark", pass_mark=pass_mark)]
    if not ordered:
        return "\n".join([*lines, t(lang, "report.history.empty")])
    one_year = len({d.active_at.year for d in ordered}) == 1
    for drill in ordered:
        date = drill.active_at.strftime("%m-%d" if one_year else "%Y-%m-%d")
        line = t(lang, "report.history.line", id=drill.id, date=date,
                 persona=persona_names.get(drill.persona, drill.persona),
                 level=label(lang, t, "level", drill.level), mode=label(lang, t, "mode", drill.mode),
                 score=score_text(drill, lang, t), mark=pass_sign(drill, pass_mark))
        lines.append(line.rstrip())
    lines.append("")
    modes = [m for m in MODES if any(d.mode == m for d in ordered)]
    modes += sorted({d.mode for d in ordered} - set(MODES))
    for mode in modes:
        scores = [d.final_score for d in reversed(ordered) if d.mode == mode and d.finished]
        result = trend([s for s in scores if s is not None])
        mode_name = label(lang, t, "mode", mode)
        if result is None:
            lines.append(t(lang, "report.history.trend_short", mode=mode_name))
        else:
            first, second, arrow = result
            lines.append(t(lang, "report.history.trend", mode=mode_name, first=format_number(first),
                           second=format_number(second), arrow=arrow))
    return "\n".join(lines)
