"""Telegram handlers: read the update, call one Coach method, render the reply. Thin on purpose.

Every callback query is answered (stale and forged buttons are told so); any message kind that
is not a drill reply gets a clear answer and leaves the drill untouched; one error handler logs
the exception and tells the user their drill is safe. Two guards run before the handlers: an update
already processed (Telegram delivering it again after a crash) gets the answer it had, and is not applied
again; a user over the flood limit is answered once and not read until the window passes.
"""

from __future__ import annotations

import logging

from telegram import InputFile, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from channels.telegram import keyboards, trainer, weekly
from channels.telegram.common import Context, say, send_all, telegram_language, update_key, user_language
from channels.telegram.flood import flood_guard
from dialogs.hot_button import DrillError
from dialogs.registry import HOT_BUTTON, OBJECTION_ENGINES, VISIT
from personas.models import LEVELS
from reports import charts
from storage.repository import DuplicateUpdate
from storage.teams import TRAINER

log = logging.getLogger(__name__)
MAX_REPLY_CHARS = 1000


async def no_drill(update: Update, context: Context, lang: str) -> None:
    t = context.bot_data.t
    await update.effective_chat.send_message(t(lang, "no_drill"), reply_markup=keyboards.start_menu(t, lang))


# -- commands ---------------------------------------------------------------------------------------
async def start(update: Update, context: Context) -> None:
    if context.args:  # a deep link: https://t.me/<bot>?start=<invite code>
        await trainer.join(update, context, context.args[0])
        return
    lang = await user_language(update, context)
    t = context.bot_data.t
    name = update.effective_user.first_name if update.effective_user else ""
    await update.effective_chat.send_message(t(lang, "welcome", name=name or ""),
                                             reply_markup=keyboards.start_menu(t, lang))


async def help_command(update: Update, context: Context) -> None:
    lang = await user_language(update, context)
    await say(update, context, lang, "help")
    services, user_id = context.bot_data, update.effective_user.id
    if user_id in services.admin_ids or await services.teams.of_user(user_id, TRAINER):
        await say(update, context, lang, "trainer.help")


async def lang_command(update: Update, context: Context) -> None:
    t = context.bot_data.t
    await update.effective_chat.send_message(t(await user_language(update, context), "lang_prompt"),
                                             reply_markup=keyboards.lang_menu(t))


async def drill_command(update: Update, context: Context) -> None:
    lang = await user_language(update, context)
    args = [a.lower() for a in context.args or []]
    if not args:
        await _persona_menu(update, context, lang)
        return
    catalog = context.bot_data.coach.services.catalog
    persona, level = args[0], args[1] if len(args) > 1 else None
    if persona in ("surprise", "random"):
        persona = None
    if len(args) > 2 or (persona is not None and persona not in catalog.ids) or (level and level not in LEVELS):
        await say(update, context, lang, "bad_drill_args", value=" ".join(args)[:80],
                   personas=", ".join(catalog.ids), levels=", ".join(LEVELS))
        return
    await _start_drill(update, context, lang, persona, level)


async def end_command(update: Update, context: Context) -> None:
    await user_language(update, context)
    outcome = await context.bot_data.coach.end(update.effective_user.id, update_key=update_key(update, context))
    await send_all(update.effective_chat, outcome.messages, outcome.drill_id)


async def me_command(update: Update, context: Context) -> None:
    """The trainee's own record: count, average (a trainer's override counts), last, per customer type; a trend."""
    lang = await user_language(update, context)
    services = context.bot_data
    coach, t = services.coach, services.t
    drills = [d for d in await services.teams.own_drill_rows(update.effective_user.id) if d.final_score is not None]
    if not drills:
        await say(update, context, lang, "me.none")
        return
    average = round(sum(d.final_score for d in drills) / len(drills))
    last = drills[-1]
    lines = [t(lang, "me.summary", count=len(drills), average=average,
               last=f"{coach.label(last.persona, lang)} · {last.final_score}")]
    for persona in dict.fromkeys(d.persona for d in drills):
        mine = [d for d in drills if d.persona == persona]
        spotted = [d for d in mine if d.kind in (HOT_BUTTON, VISIT)]
        rate = f"{round(100 * sum(d.identified_in_time for d in spotted) / len(spotted))}%" if spotted else "–"
        lines.append(t(lang, "me.persona_line", persona=coach.label(persona, lang), count=len(mine),
                       average=round(sum(d.final_score for d in mine) / len(mine)), rate=rate))
    await update.effective_chat.send_message("\n".join(lines))
    if len(drills) >= 2:
        points = [(d.ended_at or d.started_at, d.final_score) for d in drills]
        title = t(lang, "trainer.trend_title", name=update.effective_user.first_name or "")
        await update.effective_chat.send_photo(InputFile(charts.trend_png(points, title, 70), "trend.png"))


async def _persona_menu(update: Update, context: Context, lang: str) -> None:
    t, catalog = context.bot_data.t, context.bot_data.coach.services.catalog
    personas = [(pid, f"{catalog.get(pid).name.get(lang)} · {catalog.get(pid).trait.get(lang)}")
                for pid in catalog.ids]
    objections = [(kind, t(lang, f"objection.kind_{kind}")) for kind in (*OBJECTION_ENGINES, VISIT)]
    await update.effective_chat.send_message(t(lang, "pick_persona"),
                                             reply_markup=keyboards.persona_menu(t, lang, personas, objections))


async def _start_drill(update: Update, context: Context, lang: str, persona: str | None = None,
                       level: str | None = None, kind: str = HOT_BUTTON, scenario: str | None = None) -> None:
    """Start a drill; a pressed button is answered only once it has started (a refusal is answered instead)."""
    outcome = await context.bot_data.coach.start(update.effective_user.id, lang, persona, level, kind, scenario,
                                                 update_key=update_key(update, context))
    if update.callback_query is not None:
        await update.callback_query.answer()
    await send_all(update.effective_chat, outcome.messages, outcome.drill_id)


async def objection_command(update: Update, context: Context) -> None:
    """/rumour [SCENARIO] and /price [SCENARIO]: an objection drill, a random scenario unless one is named.
    /visit [PERSONA] [SCENARIO]: a full advanced visit with an objection mid-way."""
    lang = await user_language(update, context)
    kind = update.effective_message.text.split()[0].lstrip("/").split("@")[0].lower()
    args = [a.lower()[:64] for a in context.args or []]
    persona = None
    if kind == VISIT and args and args[0] in context.bot_data.coach.services.catalog.ids:
        persona = args.pop(0)
    await _start_drill(update, context, lang, persona, kind=kind, scenario=args[0] if args else None)


# -- messages ---------------------------------------------------------------------------------------
async def text_reply(update: Update, context: Context) -> None:
    lang = await user_language(update, context)
    text = (update.effective_message.text or "").strip()
    if not text:
        await say(update, context, lang, "empty_text")
        return
    if len(text) > MAX_REPLY_CHARS:
        await say(update, context, lang, "too_long", length=len(text), limit=MAX_REPLY_CHARS)
        return
    outcome = await context.bot_data.coach.reply(update.effective_user.id, text, update_key(update, context))
    await send_all(update.effective_chat, outcome.messages, outcome.drill_id)


async def not_text(update: Update, context: Context) -> None:
    await say(update, context, await user_language(update, context), "not_text")


async def edited(update: Update, context: Context) -> None:
    await say(update, context, await user_language(update, context), "edited")


async def unknown_command(update: Update, context: Context) -> None:
    await say(update, context, await user_language(update, context), "unknown_command")


async def not_private(update: Update, context: Context) -> None:
    user = update.effective_user
    lang = telegram_language(user.language_code if user else None, context.bot_data.default_language)
    await say(update, context, lang, "group_only_private")


# -- buttons ----------------------------------------------------------------------------------------
async def button(update: Update, context: Context) -> None:
    query = update.callback_query
    lang = await user_language(update, context)
    t = context.bot_data.t
    data = keyboards.decode(query.data)
    if data is None or query.message is None or update.effective_chat.type != ChatType.PRIVATE:
        await query.answer(t(lang, "forged_button"), show_alert=True)
        return
    try:
        await _route_button(update, context, lang, data)
    except DrillError as exc:
        await query.answer(t(lang, exc.key, **exc.values), show_alert=True)


async def _route_button(update: Update, context: Context, lang: str, data: keyboards.Callback) -> None:
    query, services = update.callback_query, context.bot_data
    t, coach, catalog = services.t, services.coach, services.coach.services.catalog
    chat, user_id = update.effective_chat, update.effective_user.id
    action, value = data.action, data.value
    if action == "start":
        await _start_drill(update, context, lang, None, None)
    elif action == "pick":
        await query.answer()
        await _persona_menu(update, context, lang)
    elif action == "persona":
        if value != "surprise" and value not in catalog.ids:
            raise DrillError("forged_button")
        await query.answer()
        await chat.send_message(t(lang, "pick_level"), reply_markup=keyboards.level_menu(t, lang, value))
    elif action in ("objection", "again") and value.partition(":")[0] in (*OBJECTION_ENGINES, VISIT):
        kind, _, scenario = value.partition(":")
        if scenario and scenario not in {s.id for s in coach.services.scenarios.of_kind(kind)} | {
                s for s in coach.services.scenarios.scenarios if kind == VISIT}:
            raise DrillError("forged_button")
        await _start_drill(update, context, lang, kind=kind, scenario=scenario or None)
    elif action in ("level", "again"):
        persona, _, level = value.partition(":")
        if value == "surprise":
            persona, level = "surprise", ""
        if (persona != "surprise" and persona not in catalog.ids) or (level and level not in LEVELS):
            raise DrillError("forged_button")
        await _start_drill(update, context, lang, None if persona == "surprise" else persona, level or None)
    elif action == "lang":
        if value not in ("zh", "en"):
            raise DrillError("forged_button")
        await coach.store.set_language(user_id, value)
        await query.answer()
        await say(update, context, value, "lang_set")
    elif action == "guessmenu":
        drill = await coach.current(user_id, data.drill_id)
        if drill.data.guess is not None:
            raise DrillError("drill.already_guessed")
        await query.answer()
        await chat.send_message(t(drill.data.lang, "drill.guess_menu"),
                                 reply_markup=keyboards.guess_menu(t, drill.data.lang, data.drill_id))
    elif action == "back":
        await coach.current(user_id, data.drill_id)
        await query.answer()
        await _tidy(query.message.delete())
    elif action == "guess":
        outcome = await coach.guess(user_id, data.drill_id, value, update_key(update, context))
        await query.answer()
        await _tidy(query.edit_message_reply_markup(None))
        await send_all(chat, outcome.messages, outcome.drill_id)
    elif action == "end":
        outcome = await coach.end(user_id, data.drill_id, update_key(update, context))
        await query.answer()
        await send_all(chat, outcome.messages, outcome.drill_id)
    else:  # a known action with a value it never carries (e.g. objection|0|fatalist)
        raise DrillError("forged_button")


async def _tidy(call) -> None:
    """Remove a used keyboard or menu; if that message is gone or unchanged (Telegram says BadRequest), let it be."""
    try:
        await call
    except BadRequest as exc:
        log.info("could not tidy up a message: %s", exc.message)


# -- exactly once -----------------------------------------------------------------------------------
async def replay_processed(update: Update, context: Context) -> None:
    """Runs first: an update whose step is already stored gets the answer it had then, and goes no further."""
    if update.effective_user is None:
        return
    outcome = await context.bot_data.coach.replay(update_key(update, context))
    if outcome is None:
        return
    log.info("update %s was processed before this delivery; sending its answer again", update.update_id)
    await _send_again(update, outcome)
    raise ApplicationHandlerStop


async def _send_again(update: Update, outcome) -> None:
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except Exception:  # noqa: BLE001 — answered before the crash, or too old to answer; the reply matters more
            log.info("could not answer the redelivered callback query of update %s", update.update_id)
    if update.effective_chat is not None:
        await send_all(update.effective_chat, outcome.messages, outcome.drill_id)


# -- errors -----------------------------------------------------------------------------------------
async def on_error(update: object, context: Context) -> None:
    """Log the exception first, then tell the user something useful."""
    error = context.error
    if isinstance(update, Update) and isinstance(error, DuplicateUpdate):  # another worker stored it meanwhile
        outcome = await context.bot_data.coach.replay(error.key)
        if outcome is not None:
            await _send_again(update, outcome)
        return
    if isinstance(update, Update) and isinstance(error, DrillError):
        lang = await user_language(update, context)
        if update.callback_query is not None:
            await update.callback_query.answer(context.bot_data.t(lang, error.key, **error.values), show_alert=True)
        elif error.key == "no_drill":
            await no_drill(update, context, lang)
        else:
            await say(update, context, lang, error.key, **error.values)
        return
    log.error("error while handling an update", exc_info=error)
    if isinstance(update, Update) and update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except Exception:  # noqa: BLE001 — already answered, or Telegram is unreachable; logged above
            pass
    if isinstance(update, Update) and update.effective_chat is not None:
        lang = telegram_language(update.effective_user.language_code if update.effective_user else None,
                                 context.bot_data.default_language)
        try:
            await say(update, context, lang, "error")
        except Exception:  # noqa: BLE001 — the user cannot be told; the error above is already logged
            log.warning("could not tell the user about the error", exc_info=True)


def register(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    application.add_handler(TypeHandler(Update, replay_processed), group=-2)
    application.add_handler(TypeHandler(Update, flood_guard), group=-1)
    application.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.COMMAND, not_private))
    application.add_handler(MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, edited))
    application.add_handler(CommandHandler("start", start, filters=private))
    application.add_handler(CommandHandler("help", help_command, filters=private))
    application.add_handler(CommandHandler("lang", lang_command, filters=private))
    application.add_handler(CommandHandler("drill", drill_command, filters=private))
    application.add_handler(CommandHandler("end", end_command, filters=private))
    application.add_handler(CommandHandler("me", me_command, filters=private))
    application.add_handler(CommandHandler([*OBJECTION_ENGINES, VISIT], objection_command, filters=private))
    trainer_commands = {"newteam": trainer.newteam, "invite": trainer.invite, "team": trainer.team_report,
                        "trainee": trainer.trainee_report, "transcript": trainer.transcript_command,
                        "override": trainer.override, "export": trainer.export, "heatmap": trainer.heatmap,
                        "passmark": trainer.passmark, "leaderboard": trainer.leaderboard,
                        "schedule": weekly.schedule_command}
    for name, callback in trainer_commands.items():
        application.add_handler(CommandHandler(name, callback, filters=private))
    application.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(private & filters.TEXT, text_reply))
    application.add_handler(MessageHandler(private & ~filters.TEXT, not_text))
    application.add_handler(CallbackQueryHandler(trainer.override_hint, pattern=r"^override\|\d{1,12}\|$"))
    application.add_handler(CallbackQueryHandler(weekly.start_assigned, pattern=r"^assigned\|\d{1,12}\|$"))
    application.add_handler(CallbackQueryHandler(button))
    application.add_error_handler(on_error)
