"""The weekly drill, pure: when a team's weekly window opens and closes, and which drill each trainee gets.

Times are computed from local dates in the team's IANA time zone, so a schedule keeps its local hour
across daylight-saving changes. The drill choice is spaced repetition (the `fsrs` library) over the
items (drill kind × persona): each finished drill of an item is a review rated by its score, and the
item whose recall is lowest now — weak or long unpractised, never practised first — comes next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fsrs import Card, Rating, Scheduler, State

from dialogs.base import DrillError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WINDOW, DEFAULT_REMINDER = timedelta(hours=48), timedelta(hours=24)
DURATION = re.compile(r"^(\d{1,3})([hm])$")


@dataclass(frozen=True)
class WeeklyPlan:
    weekday: int  # 0 = Monday (Python's convention; PTB's run_daily counts 0 as Sunday)
    at: time
    tz: str
    window: timedelta = DEFAULT_WINDOW
    reminder_before: timedelta = DEFAULT_REMINDER

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def ptb_day(self) -> int:
        """The weekday as PTB's run_daily(days=...) counts it: 0 = Sunday."""
        return (self.weekday + 1) % 7


def _duration(text: str) -> timedelta | None:
    match = DURATION.match(text.lower())
    if not match:
        return None
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(hours=amount) if unit == "h" else timedelta(minutes=amount)


def parse_plan(args: list[str]) -> WeeklyPlan:
    """`mon 09:00 Asia/Shanghai [48h] [24h]` → a plan; DrillError("weekly.usage") naming what is wrong."""
    if len(args) < 3 or len(args) > 5:
        raise DrillError("weekly.usage")
    day, clock, tz = args[0].lower()[:3], args[1], args[2]
    if day not in WEEKDAYS:
        raise DrillError("weekly.bad_day", value=args[0][:20])
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", clock)
    if not match:
        raise DrillError("weekly.bad_time", value=clock[:20])
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise DrillError("weekly.bad_zone", value=tz[:40]) from None
    durations = [_duration(a) for a in args[3:]]
    if any(d is None or d <= timedelta(0) for d in durations):
        raise DrillError("weekly.bad_duration", value=" ".join(args[3:])[:20])
    window = durations[0] if durations else DEFAULT_WINDOW
    reminder = durations[1] if len(durations) > 1 else min(DEFAULT_REMINDER, window / 2)
    if reminder >= window:
        raise DrillError("weekly.bad_duration", value=" ".join(args[3:])[:20])
    return WeeklyPlan(WEEKDAYS.index(day), time(int(match.group(1)), int(match.group(2))), tz, window, reminder)


def _local(plan: WeeklyPlan, day: date) -> datetime:
    return datetime.combine(day, plan.at, tzinfo=plan.zone).astimezone(UTC)


def last_occurrence(plan: WeeklyPlan, now: datetime) -> datetime:
    """The latest scheduled start at or before `now` (UTC)."""
    local_today = now.astimezone(plan.zone).date()
    day = local_today - timedelta(days=(local_today.weekday() - plan.weekday) % 7)
    start = _local(plan, day)
    return start if start <= now else _local(plan, day - timedelta(days=7))


def next_occurrence(plan: WeeklyPlan, now: datetime) -> datetime:
    """The first scheduled start after `now` (UTC)."""
    last = last_occurrence(plan, now)
    return _local(plan, last.astimezone(plan.zone).date() + timedelta(days=7))


# -- choosing the drill -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Practice:
    """One finished drill of a trainee: which item, when, and the score."""

    kind: str
    persona: str
    ended_at: datetime
    score: int


def rating(score: int) -> Rating:
    return Rating.Easy if score >= 85 else Rating.Good if score >= 70 else Rating.Hard if score >= 40 else Rating.Again


def recall(history: list[Practice], now: datetime, scheduler: Scheduler | None = None) -> float:
    """How well the item is held now (0–1): replay its drills as fsrs reviews, then ask for retrievability."""
    if not history:
        return 0.0
    scheduler = scheduler or Scheduler(enable_fuzzing=False)
    ordered = sorted(history, key=lambda p: p.ended_at)
    card = Card(card_id=1, state=State.Learning, due=ordered[0].ended_at)
    for practice in ordered:
        card, _ = scheduler.review_card(card, rating(practice.score), practice.ended_at)
    return float(scheduler.get_card_retrievability(card, now))


def choose_item(items: list[tuple[str, str]], history: list[Practice], now: datetime) -> tuple[str, str]:
    """The (kind, persona) to drill next: the lowest recall now; ties keep the order of `items`."""
    scheduler = Scheduler(enable_fuzzing=False)
    by_item = {item: [p for p in history if (p.kind, p.persona) == item] for item in items}
    return min(items, key=lambda item: recall(by_item[item], now, scheduler))


def level_for(history: list[Practice]) -> str:
    """Beginner until two drills of the item, then by the average score of the last three."""
    recent = sorted(history, key=lambda p: p.ended_at)[-3:]
    if len(history) < 2:
        return "beginner"
    average = sum(p.score for p in recent) / len(recent)
    return "advanced" if average >= 80 else "intermediate" if average >= 60 else "beginner"
