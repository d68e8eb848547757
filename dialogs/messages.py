"""What a drill engine says: channel-neutral messages and buttons that each channel renders."""

from __future__ import annotations

from dataclasses import dataclass, field

# Message kinds: a channel may style them differently (the console prefixes them, Telegram does not).
SCENARIO, PERSONA, COACH, DEBRIEF = "scenario", "persona", "coach", "debrief"


@dataclass(frozen=True)
class Button:
    """An action the trainee can take with one tap: `action` and `value` form the callback data."""

    label: str
    action: str
    value: str = ""


@dataclass(frozen=True)
class Message:
    kind: str
    text: str
    buttons: tuple[tuple[Button, ...], ...] = field(default=())
