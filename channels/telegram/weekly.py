"""Weekly drills on Telegram: /schedule, the one-tap start of an assigned drill, the jobs, the notifier.

Jobs live in PTB's JobQueue and are rebuilt at start-up from the database, by name, replacing any
job of the same name: `weekly:sweep` runs the idempotent sweep every minute (catch-up, reminders,
digests), and `weekly:<team id>` fires at each team's local start time (run_daily counts 0 as Sunday).
With several workers on one PostgreSQL database only the holder of the job lock runs them (`register_jobs`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, ContextTypes

from channels.telegram.common import Context, say, send_all, user_language
from channels.telegram.guard import TrainerScope, trainer_command
from channels.weekly import Keyboard
from dialogs.base import DrillError
from dialogs.weekly import DURATION, WEEKDAYS, WeeklyPlan, next_occurrence, parse_plan
from storage.leader import JobLock
from storage.weekly import plan_of

log = logging.getLogger(__name__)
SWEEP_JOB = "weekly:sweep"
LOCK_JOB = "jobs:lock"


class TelegramNotifier:
    """Sends the weekly messages; False when the user has blocked the bot (or never started it)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, user_id: int, text: str, keyboard: Keyboard | None = None) -> bool:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                       for row in keyboard]) if keyboard else None
        try:
            await self.bot.send_message(user_id, text, reply_markup=markup)
        except (Forbidden, BadRequest) as exc:
            log.info("user_id=%s cannot be reached (%s); marked inactive", user_id, exc.__class__.__name__)
            return False
        return True

    async def send_photo(self, user_id: int, png: bytes, caption: str = "") -> bool:
        try:
            await self.bot.send_photo(user_id, InputFile(png, "weekly.png"), caption=caption or None)
        except (Forbidden, BadRequest):
            return False
        return True


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds // 60}m"


def _describe(plan: WeeklyPlan, lang: str, t, team_name: str, now) -> str:
    nxt = next_occurrence(plan, now).astimezone(plan.zone).strftime("%Y-%m-%d %H:%M")
    return t(lang, "weekly.set", team=team_name, day=t(lang, f"weekly.days.{WEEKDAYS[plan.weekday]}"),
             time=plan.at.strftime("%H:%M"), tz=plan.tz, window=_span(plan.window),
             reminder=_span(plan.reminder_before), next=f"{nxt} ({plan.tz})")


@trainer_command
async def schedule_command(update: Update, context: Context, scope: TrainerScope) -> None:
    """/schedule DAY HH:MM ZONE [WINDOW] [REMINDER] [TEAM] · /schedule off [TEAM] · /schedule [TEAM]."""
    args = list(context.args or [])
    services = context.bot_data
    weekly, t, now = services.weekly, services.t, services.coach.store.clock()
    if args and args[0].lower() == "off":
        team, _ = scope.pick(args[1:])
        await weekly.store.set_schedule(team.id, None)
        remove_team_job(context.application, team.id)
        await say(update, context, scope.lang, "weekly.stopped", team=team.name)
        return
    if len(args) < 3:
        team, _ = scope.pick(args)
        current = await weekly.store.schedule(team.id)
        if current is None or not current.active:
            raise DrillError("weekly.none", team=team.name)
        await update.effective_chat.send_message(_describe(plan_of(current), scope.lang, t, team.name, now))
        return
    plan_args = args[:3] + [a for a in args[3:5] if DURATION.match(a.lower())]
    team, _ = scope.pick(args[len(plan_args):])
    plan = parse_plan(plan_args)
    await weekly.store.set_schedule(team.id, plan)
    add_team_job(context.application, team.id, plan)
    await update.effective_chat.send_message(_describe(plan, scope.lang, t, team.name, now))
    await weekly.sweep(now)  # a window that is open right now starts at once


async def start_assigned(update: Update, context: Context) -> None:
    query = update.callback_query
    lang = await user_language(update, context)
    parts = (query.data or "").split("|")
    if len(parts) != 3 or not parts[1].isdigit():
        raise DrillError("forged_button")
    services = context.bot_data
    outcome = await services.weekly.start_assigned(update.effective_user.id, lang, int(parts[1]),
                                                   services.coach.store.clock())
    await query.answer()
    await send_all(update.effective_chat, outcome.messages, outcome.drill_id)


async def sweep_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    services = context.bot_data
    sent = await services.weekly.sweep(services.coach.store.clock())
    if any(sent.values()):
        log.info("weekly sweep: %s", sent)


def add_team_job(application: Application, team_id: int, plan: WeeklyPlan) -> None:
    """Fire the sweep at the team's local start time; replaces the team's job of the same name.

    Only where the scheduled jobs run (the job lock's holder); that worker picks the schedule up from the
    database at its next lock refresh."""
    lock = application.bot_data.job_lock
    if lock is not None and not lock.held:
        return
    remove_team_job(application, team_id)
    at = plan.at.replace(tzinfo=plan.zone)
    application.job_queue.run_daily(sweep_job, at, days=(plan.ptb_day,), name=f"weekly:{team_id}")


def remove_team_job(application: Application, team_id: int) -> None:
    for job in application.job_queue.get_jobs_by_name(f"weekly:{team_id}"):
        job.schedule_removal()


async def register_jobs(application: Application, sweep_seconds: int) -> None:
    """At start-up: the sweep and one job per active schedule, all by name (so nothing doubles) — on the
    worker that holds the job lock (storage/leader.py; on SQLite, always). On PostgreSQL every worker also
    runs `jobs:lock`, which refreshes the lock every `lock.retry_seconds`: a standby worker takes the jobs
    over when the holder dies, a holder that lost its lock stops them, and the holder re-reads the schedules
    (set through any worker) from the database."""
    services = application.bot_data
    if services.job_lock is None:
        services.job_lock = JobLock(services.coach.store.engine.url.render_as_string(hide_password=False))
    lock = services.job_lock
    for job in application.job_queue.get_jobs_by_name(LOCK_JOB):
        job.schedule_removal()
    if lock.exclusive:
        application.job_queue.run_repeating(lock_job, interval=lock.retry_seconds, first=lock.retry_seconds,
                                            name=LOCK_JOB, data=sweep_seconds)
    await follow_lock(application, sweep_seconds)


async def lock_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await follow_lock(context.application, context.job.data)


async def follow_lock(application: Application, sweep_seconds: int) -> None:
    """Refresh the job lock; start, keep in step with the database, or stop the scheduled jobs to match."""
    running = bool(application.job_queue.get_jobs_by_name(SWEEP_JOB))
    if await application.bot_data.job_lock.refresh():
        if not running:
            log.info("this worker holds the job lock: it runs the scheduled jobs")
            application.job_queue.run_repeating(sweep_job, interval=timedelta(seconds=sweep_seconds), first=1,
                                                name=SWEEP_JOB)
        await sync_team_jobs(application)
    elif running:
        log.warning("this worker no longer holds the job lock: it stops running the scheduled jobs")
        for job in application.job_queue.jobs():
            if job.name and job.name.startswith("weekly:"):
                job.schedule_removal()


async def sync_team_jobs(application: Application) -> None:
    """One job per active schedule in the database, replaced by name; jobs of stopped schedules go."""
    active = {schedule.team_id: plan_of(schedule)
              for schedule, _ in await application.bot_data.weekly.store.active_schedules()}
    for job in application.job_queue.jobs():
        if job.name and job.name.startswith("weekly:") and job.name != SWEEP_JOB:
            team = job.name.removeprefix("weekly:")
            if not team.isdigit() or int(team) not in active:
                job.schedule_removal()
    for team_id, plan in active.items():
        add_team_job(application, team_id, plan)
