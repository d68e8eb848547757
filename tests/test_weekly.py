"""Weekly drills with an injected clock: local times across zones and DST, the fsrs choice, and the sweep on a
real SQLite file and a real PostgreSQL database — invitations, a mid-window joiner, reminders, the digest,
catch-up once, blocked trainees."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest

from channels.coach import Coach
from channels.weekly import Weekly
from dialogs.base import DrillError
from dialogs.weekly import Practice, choose_item, last_occurrence, level_for, next_occurrence, parse_plan
from storage.migrate import upgrade
from storage.repository import Store
from storage.teams import Teams
from storage.weekly import WeeklyStore

SHANGHAI_MONDAY_9 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Mon 30 Nov 2026 09:00 in Asia/Shanghai


@pytest.mark.parametrize(("args", "key"), [
    (["mon", "09:00"], "weekly.usage"), (["xyz", "09:00", "UTC"], "weekly.bad_day"),
    (["mon", "25:00", "UTC"], "weekly.bad_time"), (["mon", "09:00", "Mars/Base"], "weekly.bad_zone"),
    (["mon", "09:00", "UTC", "2d"], "weekly.bad_duration"), (["mon", "09:00", "UTC", "2h", "3h"], "weekly.bad_duration"),
])
def test_bad_schedules_are_named(args, key):
    with pytest.raises(DrillError) as error:
        parse_plan(args)
    assert error.value.key == key


def test_plan_defaults_and_ptb_day():
    plan = parse_plan(["Mon", "9:00", "Asia/Shanghai"])
    assert (plan.weekday, plan.at, plan.window, plan.reminder_before) == (0, time(9, 0), timedelta(hours=48),
                                                                          timedelta(hours=24))
    assert plan.ptb_day == 1 and parse_plan(["sun", "09:00", "UTC"]).ptb_day == 0  # PTB counts 0 as Sunday


def test_occurrences_keep_local_time_across_daylight_saving():
    plan = parse_plan(["mon", "09:00", "Europe/Berlin"])
    winter = last_occurrence(plan, datetime(2026, 3, 23, 12, 0, tzinfo=UTC))
    summer = next_occurrence(plan, winter)
    assert winter == datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert summer == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST, after the change on 29 March
    # back to CET on 25 October: at 07:30 UTC on Monday 26th it is 08:30 local, so 09:00 local is still ahead
    assert next_occurrence(plan, datetime(2026, 10, 26, 7, 30, tzinfo=UTC)) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)


def test_occurrence_in_another_zone_and_exactly_at_the_start():
    plan = parse_plan(["mon", "09:00", "Asia/Shanghai"])
    assert last_occurrence(plan, SHANGHAI_MONDAY_9) == SHANGHAI_MONDAY_9
    assert last_occurrence(plan, SHANGHAI_MONDAY_9 - timedelta(seconds=1)) == SHANGHAI_MONDAY_9 - timedelta(days=7)
    new_york = parse_plan(["fri", "17:30", "America/New_York"])
    assert last_occurrence(new_york, datetime(2026, 7, 4, 0, 0, tzinfo=UTC)) == datetime(2026, 7, 3, 21, 30, tzinfo=UTC)


def test_the_weakest_and_the_unpractised_items_come_first():
    now = datetime(2026, 11, 26, tzinfo=UTC)
    day = timedelta(days=1)
    history = [Practice("hot_button", "fatalist", now - 3 * day, 30), Practice("hot_button", "caring", now - 3 * day, 95),
               Practice("hot_button", "caring", now - 2 * day, 92)]
    practised = [("hot_button", "caring"), ("hot_button", "fatalist")]
    assert choose_item(practised, history, now) == ("hot_button", "fatalist")
    assert choose_item([*practised, ("price", "price")], history, now) == ("price", "price")  # never practised
    old_mastery = [Practice("hot_button", "caring", now - 200 * day, 95)]
    recent_weak = [Practice("hot_button", "fatalist", now - day, 60)]
    assert choose_item(practised, old_mastery + recent_weak, now) == ("hot_button", "caring")  # long unpractised
    assert level_for([]) == "beginner" and level_for(history[1:]) == "advanced"


class Recorder:
    """The notifier seam: records what would be sent; users in `blocked` have blocked the bot."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, list]] = []
        self.photos: list[int] = []
        self.blocked: set[int] = set()

    async def send(self, user_id, text, keyboard=None):
        if user_id in self.blocked:
            return False
        self.sent.append((user_id, text, keyboard or []))
        return True

    async def send_photo(self, user_id, png, caption=""):
        assert png.startswith(b"\x89PNG")
        self.photos.append(user_id)
        return True

    def take(self) -> list[tuple[int, str, list]]:
        sent, self.sent = self.sent, []
        return sent


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def world(blank_database_url, services, t):
    url = blank_database_url  # a new SQLite file, then a new PostgreSQL database (tests/conftest.py)
    await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
    clock = Clock(SHANGHAI_MONDAY_9 - timedelta(days=3))
    store = Store(url, clock=clock)
    teams, recorder = Teams(store), Recorder()
    coach = Coach(store, services, t, early_window=3)
    weekly = Weekly(coach, WeeklyStore(store), recorder, t)
    team = await teams.create("Alpha", 1)
    for user_id, name in ((10, "Trainer"), (21, "Li"), (22, "Wang")):
        await store.upsert_user(user_id, name, None, "zh")
        await teams.join(team.trainer_code if user_id == 10 else team.invite_code, user_id)
    await weekly.store.set_schedule(team.id, parse_plan(["mon", "09:00", "Asia/Shanghai", "48h", "24h"]))
    yield weekly, recorder, clock, store, teams, team
    await store.close()


async def test_a_week_of_invitations_reminders_and_digest(world):
    weekly, recorder, clock, store, teams, team = world
    assert await weekly.sweep(SHANGHAI_MONDAY_9 - timedelta(minutes=1)) == {"invitations": 0, "reminders": 0,
                                                                             "digests": 0}
    clock.now = SHANGHAI_MONDAY_9
    assert (await weekly.sweep(clock.now))["invitations"] == 2
    invitations = recorder.take()
    assert sorted(user for user, _, _ in invitations) == [21, 22]
    assert all("本周练习到了" in text and "12-02 09:00 (Asia/Shanghai)" in text for _, text, _ in invitations)
    assert (await weekly.sweep(clock.now + timedelta(minutes=1)))["invitations"] == 0  # nothing twice

    await store.upsert_user(23, "Zhao", None, "en")  # joins mid-window
    await teams.join(team.invite_code, 23)
    clock.now = SHANGHAI_MONDAY_9 + timedelta(hours=6)
    assert (await weekly.sweep(clock.now))["invitations"] == 1
    (joiner,) = recorder.take()
    assert joiner[0] == 23 and "Your weekly drill is here" in joiner[1]

    # Li plays the assigned drill to the end
    data = invitations[0][2][0][0][1] if invitations[0][0] == 21 else invitations[1][2][0][0][1]
    assignment_id = int(data.split("|")[1])
    outcome = await weekly.start_assigned(21, "zh", assignment_id, clock.now)
    assert outcome.drill_id is not None
    with pytest.raises(DrillError) as again:
        await weekly.start_assigned(21, "zh", assignment_id, clock.now)
    assert again.value.key == "weekly.already_started"
    for _ in range(8):
        if (await store.open_drill(21)) is None:
            break
        await weekly.coach.reply(21, "我们先小范围试点，出了问题我们兜底负责，下周二能否安排现场试点？")
    assert (await store.open_drill(21)) is None
    with pytest.raises(DrillError) as forged:
        await weekly.start_assigned(22, "zh", assignment_id, clock.now)
    assert forged.value.key == "forged_button"

    clock.now = SHANGHAI_MONDAY_9 + timedelta(hours=24)  # 24 h before the window closes
    assert (await weekly.sweep(clock.now))["reminders"] == 2
    assert sorted(user for user, _, _ in recorder.take()) == [22, 23]
    assert (await weekly.sweep(clock.now + timedelta(hours=1)))["reminders"] == 0

    clock.now = SHANGHAI_MONDAY_9 + timedelta(hours=48)
    assert (await weekly.sweep(clock.now))["digests"] == 1
    (digest,) = recorder.take()
    assert digest[0] == 10 and "完成：1/3（33%）" in digest[1] and "Wang" in digest[1] and "Zhao" in digest[1]
    assert recorder.photos == [10]
    assert (await weekly.sweep(clock.now + timedelta(hours=1)))["digests"] == 0
    with pytest.raises(DrillError) as late:
        await weekly.start_assigned(22, "zh", assignment_id + 1, clock.now)
    assert late.value.key == "weekly.expired"


async def test_a_bot_down_at_the_start_catches_up_once(world):
    weekly, recorder, _, _, _, _ = world
    late = SHANGHAI_MONDAY_9 + timedelta(hours=30)  # back up the next day, the window still open
    first = await weekly.sweep(late)
    assert first["invitations"] == 2 and first["reminders"] == 2  # past the reminder time too
    assert (await weekly.sweep(late + timedelta(minutes=1))) == {"invitations": 0, "reminders": 0, "digests": 0}
    nothing = await weekly.sweep(SHANGHAI_MONDAY_9 + timedelta(days=7, hours=50))  # down for a whole window
    assert nothing["invitations"] == 0 and nothing["digests"] == 1  # only the first window's digest, once


async def test_blocked_trainees_are_marked_inactive_and_not_retried(world):
    weekly, recorder, _, store, _, _ = world
    recorder.blocked.add(22)
    assert (await weekly.sweep(SHANGHAI_MONDAY_9))["invitations"] == 1
    next_week = SHANGHAI_MONDAY_9 + timedelta(days=7)
    assert (await weekly.sweep(next_week))["invitations"] == 1
    assert [user for user, _, _ in recorder.take()] == [21, 21]
    assert [u.id for u in await weekly.store.people(1)] == [21]


async def test_the_weak_spot_is_assigned(world):
    weekly, recorder, clock, store, _, _ = world
    clock.now = SHANGHAI_MONDAY_9 - timedelta(days=2)
    for persona in ("fatalist", "aggressive", "deliberate", "relational", "caring"):
        await weekly.coach.start(21, "zh", persona, "beginner")
        await weekly.coach.reply(21, "我们先小范围试点，出了问题我们兜底负责。" if persona == "fatalist" else "天气不错。")
        await weekly.coach.end(21)
    for kind in ("rumour", "price"):
        await weekly.coach.start(21, "zh", kind=kind)
        await weekly.coach.reply(21, "嗯。")
        await weekly.coach.end(21)
    await weekly.sweep(SHANGHAI_MONDAY_9)
    (li,) = [a for a in await weekly.store.assignments(1, SHANGHAI_MONDAY_9) if a.user_id == 21]
    assert (li.kind, li.persona) != ("hot_button", "fatalist")  # the one it did well is not the one it gets
