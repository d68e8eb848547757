"""Trainer and team commands: teams, invites, score tables, transcripts, overrides, exports, charts.

Permissions live in channels/telegram/guard.py; these handlers only read arguments, call the
repository and reports, and send what they render.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update

from channels.telegram.common import Context, say, send_text, user_language
from channels.telegram.guard import TrainerScope, admin_command, trainer_command
from dialogs.hot_button import DrillError
from dialogs.registry import OBJECTION_ENGINES
from reports import charts, csv_export, tables, transcript
from storage.teams import TRAINEE, TRAINER, TeamExists, new_code

MAX_TEAM_NAME = 64
LEADERBOARD_WEEKS = 4


def persona_names(context: Context, lang: str) -> dict[str, str]:
    """Names of the personas, then of the objection drills (which stand in the persona column)."""
    coach = context.bot_data.coach
    return {pid: coach.label(pid, lang) for pid in (*coach.services.catalog.ids, *OBJECTION_ENGINES)}


def invite_link(context: Context, code: str) -> str:
    return f"https://t.me/{context.bot.username}?start={code}"


async def join(update: Update, context: Context, code: str) -> None:
    """A deep link: join a team as a trainee (invite code) or become its trainer (trainer code)."""
    lang = await user_language(update, context)
    joined = await context.bot_data.teams.join(code[:64], update.effective_user.id)
    if joined is None:
        await say(update, context, lang, "trainer.bad_invite")
        return
    team, role = joined
    await say(update, context, lang, f"trainer.joined_{role}", name=team.name)


@admin_command
async def newteam(update: Update, context: Context, lang: str) -> None:
    name = " ".join(context.args or []).strip()
    if not name or len(name) > MAX_TEAM_NAME:
        raise DrillError("trainer.newteam_usage")
    try:
        team = await context.bot_data.teams.create(name, update.effective_user.id)
    except TeamExists:
        raise DrillError("trainer.team_exists", name=name) from None
    await say(update, context, lang, "trainer.team_created", name=team.name,
              trainer_link=invite_link(context, team.trainer_code), invite_link=invite_link(context, team.invite_code))


@trainer_command
async def invite(update: Update, context: Context, scope: TrainerScope) -> None:
    team, rest = scope.pick(list(context.args or []))
    action = rest[0].lower() if rest else ""
    teams = context.bot_data.teams
    if action == "revoke":
        await teams.update(team.id, invite_code=None)
        await say(update, context, scope.lang, "trainer.invite_revoked", name=team.name)
        return
    if action == "renew" or team.invite_code is None:
        team = await teams.update(team.id, invite_code=new_code())
    link = invite_link(context, team.invite_code)
    await say(update, context, scope.lang, "trainer.invite", name=team.name, link=link)


@trainer_command
async def team_report(update: Update, context: Context, scope: TrainerScope) -> None:
    names, now = persona_names(context, scope.lang), context.bot_data.coach.store.clock()
    chosen = [scope.pick(list(context.args))[0]] if context.args else scope.teams
    for team in chosen:
        drills = await context.bot_data.teams.drill_rows([team.id])
        text = tables.team_table(team.name, drills, now, scope.lang, context.bot_data.t, names,
                                 pass_mark=team.pass_mark)
        await send_text(update.effective_chat, text)


@trainer_command
async def trainee_report(update: Update, context: Context, scope: TrainerScope) -> None:
    query = " ".join(context.args or []).strip()
    if not query:
        raise DrillError("trainer.trainee_usage")
    teams = context.bot_data.teams
    members = {m.id: m for team in scope.teams for m in await teams.members(team.id, TRAINEE)}
    exact = [m for m in members.values() if query in (str(m.id), m.first_name, m.username or "")]
    matches = exact or [m for m in members.values() if query.lower() in (m.first_name or "").lower()]
    if not matches:
        raise DrillError("trainer.no_such_trainee", name=query[:64])
    if len(matches) > 1:
        raise DrillError("trainer.many_trainees", name=query[:64],
                         names=", ".join(f"{m.first_name} ({m.id})" for m in matches))
    trainee = matches[0]
    drills = await teams.drill_rows(scope.team_ids, user_id=trainee.id)
    unique = list({d.id: d for d in drills}.values())
    pass_mark = min(team.pass_mark for team in scope.teams)
    text = tables.trainee_history(trainee.first_name, unique, scope.lang, context.bot_data.t,
                                  persona_names(context, scope.lang), pass_mark)
    await send_text(update.effective_chat, text)
    scored = [(d.ended_at or d.started_at, d.final_score) for d in unique if d.final_score is not None]
    if len(scored) >= 2:
        title = context.bot_data.t(scope.lang, "trainer.trend_title", name=trainee.first_name)
        await update.effective_chat.send_photo(InputFile(charts.trend_png(scored, title, pass_mark), "trend.png"))


async def _drill_in_scope(context: Context, scope: TrainerScope, raw: str):
    """The drill if its trainee is in one of the scope's teams; otherwise the same reply as for no drill."""
    if not raw.isdigit() or len(raw) > 12:
        raise DrillError("trainer.transcript_usage")
    rows = await context.bot_data.teams.drill_rows(scope.team_ids, drill_id=int(raw))
    if not rows:
        raise DrillError("trainer.no_such_drill", id=int(raw))
    return rows[0]


@trainer_command
async def transcript_command(update: Update, context: Context, scope: TrainerScope) -> None:
    if len(context.args or []) != 1:
        raise DrillError("trainer.transcript_usage")
    drill = await _drill_in_scope(context, scope, context.args[0])
    teams, t = context.bot_data.teams, context.bot_data.t
    chunks = transcript.render_transcript(drill, await teams.exchange_rows(drill.id), await teams.overrides(drill.id),
                                          scope.lang, t, persona_names(context, scope.lang))
    button = InlineKeyboardMarkup([[InlineKeyboardButton(t(scope.lang, "trainer.override_button"),
                                                         callback_data=f"override|{drill.id}|")]])
    for index, chunk in enumerate(chunks):
        await update.effective_chat.send_message(chunk, reply_markup=button if index == len(chunks) - 1 else None)


@trainer_command
async def override(update: Update, context: Context, scope: TrainerScope) -> None:
    args = list(context.args or [])
    if len(args) < 3 or not args[1].isdigit() or not 0 <= int(args[1]) <= 100:
        raise DrillError("trainer.override_usage")
    drill = await _drill_in_scope(context, scope, args[0])
    reason = " ".join(args[2:])[:500]
    row = await context.bot_data.teams.add_override(drill.id, scope.user_id, int(args[1]), reason)
    await say(update, context, scope.lang, "trainer.override_done", id=drill.id,
              old=row.old_score if row.old_score is not None else "–", new=row.new_score, reason=reason)


@trainer_command
async def override_hint(update: Update, context: Context, scope: TrainerScope) -> None:
    """The transcript's override button: check access, then show the exact command to send."""
    query = update.callback_query
    drill = await _drill_in_scope(context, scope, query.data.split("|")[1])
    await query.answer()
    await say(update, context, scope.lang, "trainer.override_hint", id=drill.id)


@trainer_command
async def export(update: Update, context: Context, scope: TrainerScope) -> None:
    team, _ = scope.pick(list(context.args or []))
    teams = context.bot_data.teams
    drills = await teams.drill_rows([team.id])
    if not drills:
        raise DrillError("trainer.no_drills", name=team.name)
    exchanges = [row for drill in drills for row in await teams.exchange_rows(drill.id)]
    chat = update.effective_chat
    await chat.send_document(InputFile(csv_export.drills_csv(drills), f"drills-{team.id}.csv"))
    await chat.send_document(InputFile(csv_export.exchanges_csv({d.id: d for d in drills}, exchanges),
                                       f"exchanges-{team.id}.csv"))
    await say(update, context, scope.lang, "trainer.exported", name=team.name)


@trainer_command
async def heatmap(update: Update, context: Context, scope: TrainerScope) -> None:
    team, _ = scope.pick(list(context.args or []))
    drills = [d for d in await context.bot_data.teams.drill_rows([team.id]) if d.score is not None]
    if not drills:
        raise DrillError("trainer.no_drills", name=team.name)
    names = persona_names(context, scope.lang)
    trainees = sorted({d.trainee_name for d in drills})
    rates = []
    for trainee in trainees:
        row = []
        for persona in names:
            played = [d for d in drills if d.trainee_name == trainee and d.persona == persona]
            row.append(sum(d.identified_in_time for d in played) / len(played) if played else None)
        rates.append(row)
    title = context.bot_data.t(scope.lang, "trainer.heatmap_title", name=team.name)
    png = charts.heatmap_png(trainees, list(names.values()), rates, title)
    await update.effective_chat.send_photo(InputFile(png, "heatmap.png"))


@trainer_command
async def passmark(update: Update, context: Context, scope: TrainerScope) -> None:
    args = list(context.args or [])
    if not args or not args[0].isdigit() or not 0 <= int(args[0]) <= 100:
        raise DrillError("trainer.passmark_usage")
    team, _ = scope.pick(args[1:])
    await context.bot_data.teams.update(team.id, pass_mark=int(args[0]))
    await say(update, context, scope.lang, "trainer.passmark_set", name=team.name, mark=int(args[0]))


async def leaderboard(update: Update, context: Context) -> None:
    """Trainers switch it with `/leaderboard on|off [TEAM]`; members of a team where it is on see it."""
    args = [a.lower() for a in context.args or []]
    if args and args[0] in ("on", "off"):
        await _switch_leaderboard(update, context)
        return
    lang = await user_language(update, context)
    teams = context.bot_data.teams
    user_id = update.effective_user.id
    mine = await teams.of_user(user_id, TRAINEE) + await teams.of_user(user_id, TRAINER)
    shown = [team for team in mine if team.leaderboard]
    if not shown:
        raise DrillError("trainer.leaderboard_off")
    since = context.bot_data.coach.store.clock() - timedelta(weeks=LEADERBOARD_WEEKS)
    for team in {team.id: team for team in shown}.values():
        drills = [d for d in await teams.drill_rows([team.id], since=since) if d.final_score is not None]
        board: dict[str, list[int]] = {}
        for drill in drills:
            board.setdefault(drill.trainee_name, []).append(drill.final_score)
        rows = [(name, sum(scores) / len(scores), len(scores)) for name, scores in board.items()]
        board_text = transcript.leaderboard(rows, lang, context.bot_data.t, weeks=LEADERBOARD_WEEKS)
        await send_text(update.effective_chat, f"🏆 {team.name}\n{board_text}")


@trainer_command
async def _switch_leaderboard(update: Update, context: Context, scope: TrainerScope) -> None:
    args = list(context.args or [])
    team, _ = scope.pick(args[1:])
    on = args[0].lower() == "on"
    await context.bot_data.teams.update(team.id, leaderboard=on)
    await say(update, context, scope.lang, f"trainer.leaderboard_set_{'on' if on else 'off'}", name=team.name)
