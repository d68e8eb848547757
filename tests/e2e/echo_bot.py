"""A bare python-telegram-bot 22 echo bot: the harness self-test drives it and benchmarks use it as baseline.

It reads TELEGRAM_BOT_TOKEN and TELEGRAM_API_URL from the environment, echoes every text message back,
answers `/keyboard` with two inline buttons, and answers every callback query and then reports its data and
chat_instance in a message (`callback data=<data> chat_instance=<chat_instance>`), so a test can see what
reached the bot. It keeps no state and runs `run_polling` until SIGTERM/SIGINT.
"""

from __future__ import annotations

import logging
import os

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


async def keyboard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    buttons = [[InlineKeyboardButton("A", callback_data="a"), InlineKeyboardButton("B", callback_data="b")]]
    await update.effective_message.reply_text("pick one", reply_markup=InlineKeyboardMarkup(buttons))


async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    chat_id = query.message.chat.id if query.message else query.from_user.id
    await context.bot.send_message(chat_id, f"callback data={query.data} chat_instance={query.chat_instance}")


def build_application(token: str, api_url: str) -> Application:
    application = (Application.builder().token(token).base_url(f"{api_url}/bot")
                   .base_file_url(f"{api_url}/file/bot").build())
    application.add_handler(CommandHandler("keyboard", keyboard))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_handler(CallbackQueryHandler(callback))
    return application


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    build_application(os.environ["TELEGRAM_BOT_TOKEN"], os.environ["TELEGRAM_API_URL"].rstrip("/")).run_polling()


if __name__ == "__main__":
    main()
