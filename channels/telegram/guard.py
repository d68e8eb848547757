"""The one guard of the trainer and admin commands: who may run them, and over which teams.

`trainer_command` resolves the teams the user trains (admins: every team) before the handler
runs and refuses politely when there are none; handlers receive a `TrainerScope` and never
check permissions themselves. `admin_command` does the same for ADMIN_IDS.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Update

from dialogs.hot_button import DrillError
from storage.models import Team
from storage.teams import TRAINER


@dataclass(frozen=True)
class TrainerScope:
    user_id: int
    lang: str
    teams: list[Team]
    is_admin: bool

    @property
    def team_ids(self) -> list[int]:
        return [team.id for team in self.teams]

    def names(self) -> str:
        return ", ".join(team.name for team in self.teams)

    def pick(self, args: list[str]) -> tuple[Team, list[str]]:
        """The team named by the trailing arguments, or the only team; the remaining arguments."""
        for cut in range(len(args)):
            name = " ".join(args[cut:])
            for team in self.teams:
                if team.name.lower() == name.lower():
                    return team, args[:cut]
        if len(self.teams) == 1:
            return self.teams[0], args
        if args:
            raise DrillError("trainer.no_such_team", name=" ".join(args)[:64], teams=self.names())
        raise DrillError("trainer.pick_team", teams=self.names())


Handler = Callable[..., Awaitable[None]]


def trainer_command(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def guarded(update: Update, context) -> None:
        from channels.telegram.handlers import user_language

        lang = await user_language(update, context)
        services, user_id = context.bot_data, update.effective_user.id
        is_admin = user_id in services.admin_ids
        teams = await (services.teams.all() if is_admin else services.teams.of_user(user_id, TRAINER))
        if not teams:
            raise DrillError("trainer.only_trainers")
        await handler(update, context, TrainerScope(user_id, lang, teams, is_admin))

    return guarded


def admin_command(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def guarded(update: Update, context) -> None:
        from channels.telegram.handlers import user_language

        lang = await user_language(update, context)
        if update.effective_user.id not in context.bot_data.admin_ids:
            raise DrillError("trainer.only_admins")
        await handler(update, context, lang)

    return guarded
