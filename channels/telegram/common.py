"""What every Telegram handler shares: typed services in bot_data, the user's language, sending replies.

Messages longer than Telegram's 4,096 characters are split at line breaks (reports.transcript.split_message).
`update_key` names the update a drill step answers (stored with it for exactly-once processing), and
`confirm_after_processing` makes long polling confirm an update to Telegram only once it has been handled,
so an update in hand when the bot dies is delivered again rather than lost.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from telegram import Chat, Update
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from channels.coach import Coach
from channels.telegram import keyboards
from channels.telegram.flood import FloodLimiter
from channels.weekly import Weekly
from dialogs.i18n import Translator
from dialogs.messages import Message
from reports.transcript import split_message
from storage.leader import JobLock
from storage.repository import UpdateKey
from storage.teams import Teams


@dataclass
class BotServices:
    """Typed dependencies of the handlers, held in `bot_data` (PTB creates it empty; bot.py fills it)."""

    coach: Coach = None  # type: ignore[assignment]
    teams: Teams = None  # type: ignore[assignment]
    t: Translator = None  # type: ignore[assignment]
    weekly: Weekly = None  # type: ignore[assignment]
    default_language: str = "zh"
    admin_ids: tuple[int, ...] = field(default=())
    flood: FloodLimiter = field(default_factory=FloodLimiter)
    job_lock: JobLock | None = None  # which worker runs the scheduled jobs (channels/telegram/weekly.py)


Context = CallbackContext[ExtBot, dict, dict, BotServices]
CONTEXT_TYPES = ContextTypes(bot_data=BotServices)


def telegram_language(code: str | None, default: str) -> str:
    code = (code or "").lower()
    return "zh" if code.startswith("zh") else "en" if code.startswith("en") else default


async def user_language(update: Update, context: Context) -> str:
    """Register the user on first contact and return their language."""
    services, user = context.bot_data, update.effective_user
    if user is None:
        return services.default_language
    lang = telegram_language(user.language_code, services.default_language)
    row = await services.coach.store.upsert_user(user.id, user.first_name or "", user.username, lang)
    return row.language


async def send_all(chat: Chat, messages: list[Message], drill_id: int | None) -> None:
    for message in messages:
        await send_text(chat, message.text, keyboards.markup(message.buttons, drill_id))


async def send_text(chat: Chat, text: str, reply_markup=None) -> None:
    """Send a text of any length; the keyboard goes on the last part."""
    chunks = split_message(text)
    for index, chunk in enumerate(chunks):
        await chat.send_message(chunk, reply_markup=reply_markup if index == len(chunks) - 1 else None)


async def say(update: Update, context: Context, lang: str, key: str, **values: object) -> None:
    await send_text(update.effective_chat, context.bot_data.t(lang, key, **values))


def update_key(update: Update, context: Context) -> UpdateKey:
    """The key a drill step stores for the update it answers: this bot's id and the update's id."""
    return UpdateKey(context.bot.id, update.update_id)


class _ConfirmAfterProcessing:
    """Stands in for the bot inside PTB's Updater. The Updater confirms a batch of updates to Telegram with the
    `offset` of its next getUpdates, which it sends as soon as the batch is queued; waiting here until the
    Application has processed every queued update moves that confirmation to after processing."""

    def __init__(self, bot: ExtBot, queue: asyncio.Queue) -> None:
        self._bot, self._queue = bot, queue

    async def get_updates(self, *args: Any, **kwargs: Any) -> Any:
        await self._queue.join()
        return await self._bot.get_updates(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bot, name)


def confirm_after_processing(application: Application) -> None:
    """Long polling confirms an update only once handled: a crash mid-update means Telegram delivers it again."""
    if application.updater is not None:
        application.updater.bot = _ConfirmAfterProcessing(application.bot, application.update_queue)
