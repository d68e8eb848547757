"""Inline keyboards and their callback data: `action|drill_id|value`, at most 64 bytes, parsed strictly.

Anything that does not parse, names an unknown action or carries a bad value is treated as forged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from dialogs.messages import Button
from personas.models import LEVELS
from scoring.types import MOTIVES

ACTIONS = {"start", "pick", "persona", "level", "objection", "guessmenu", "guess", "back", "end", "again", "lang"}
MAX_DATA = 64


@dataclass(frozen=True)
class Callback:
    action: str
    drill_id: int
    value: str


def encode(action: str, drill_id: int | None = None, value: str = "") -> str:
    data = f"{action}|{drill_id or 0}|{value}"
    if len(data.encode()) > MAX_DATA:
        raise ValueError(f"callback data over {MAX_DATA} bytes: {data!r}")
    return data


def decode(data: str | None) -> Callback | None:
    """Parse callback data; None when it is not one of ours (forged, truncated, from an old version)."""
    if not data or len(data.encode()) > MAX_DATA:
        return None
    parts = data.split("|")
    if len(parts) != 3 or parts[0] not in ACTIONS or not parts[1].isdigit():
        return None
    return Callback(parts[0], int(parts[1]), parts[2])


def markup(rows: tuple[tuple[Button, ...], ...], drill_id: int | None) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=encode(b.action, drill_id, b.value))
                                  for b in row] for row in rows])


def _lang_row(t: Callable[..., str]) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(t(lang, f"button.lang_{lang}"), callback_data=encode("lang", value=lang))
            for lang in ("zh", "en")]


def start_menu(t: Callable[..., str], lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(t(lang, "button.start_drill"), callback_data=encode("start"))],
        [InlineKeyboardButton(t(lang, "button.pick_persona"), callback_data=encode("pick"))],
        _lang_row(t),
    ])


def persona_menu(t: Callable[..., str], lang: str, personas: list[tuple[str, str]],
                 objections: list[tuple[str, str]] = ()) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(name, callback_data=encode("persona", value=pid))] for pid, name in personas]
    rows.append([InlineKeyboardButton(t(lang, "button.surprise"), callback_data=encode("persona", value="surprise"))])
    rows.append([InlineKeyboardButton(f"⚔️ {name}", callback_data=encode("objection", value=kind))
                 for kind, name in objections])
    return InlineKeyboardMarkup(rows)


def level_menu(t: Callable[..., str], lang: str, persona: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t(lang, f"level.{level}"),
                                                       callback_data=encode("level", value=f"{persona}:{level}"))]
                                 for level in LEVELS])


def guess_menu(t: Callable[..., str], lang: str, drill_id: int) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(t(lang, f"motive.{m}"), callback_data=encode("guess", drill_id, m))]
            for m in MOTIVES]
    rows.append([InlineKeyboardButton(t(lang, "button.cancel"), callback_data=encode("back", drill_id))])
    return InlineKeyboardMarkup(rows)


def lang_menu(t: Callable[..., str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([_lang_row(t)])
