"""What every Telegram handler shares: typed services in bot_data, the user's language, sending replies.

Messages longer than Telegram's 4,096 characters are split at line breaks (reports.transcript.split_message).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import Chat, Update
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from channels.coach import Coach
from channels.telegram import keyboards
from channels.weekly import Weekly
from dialogs.i18n import Translator
from dialogs.messages import Message
from reports.transcript import split_message
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
