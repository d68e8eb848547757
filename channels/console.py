"""Practice in a terminal, no token needed: the same drill engine, typed or scripted replies.

`/guess MOTIVE` names the hot button, `/end` ends the meeting. With a script, replies come from a
file (one per line); with `as_json`, the transcript goes to stderr and stdout gets one JSON object.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO

from dialogs.base import DrillError, Services
from dialogs.hot_button import HotButtonDrill
from dialogs.i18n import Translator
from dialogs.messages import Message
from dialogs.registry import HOT_BUTTON, Drill, new_drill, render_end
from dialogs.visit import VisitDrill


def _interactive(prompt: str, out: TextIO) -> Iterator[str]:
    while True:
        try:
            out.write(prompt)
            out.flush()
            yield input()
        except EOFError:
            return


def play(drill: Drill, t: Translator, replies: Iterable[str], out: TextIO) -> None:
    """Run the drill over `replies` until it ends or they run out, printing every message to `out`."""
    lang = drill.data.lang

    def show(messages: list[Message]) -> None:
        for message in messages:
            out.write(message.text + "\n\n")

    show(drill.start(t))
    out.write(t(lang, "console.commands_hint") + "\n\n")
    for raw in replies:
        line = raw.strip()
        if not line:
            continue
        try:
            if line.lower().startswith("/guess") and isinstance(drill, HotButtonDrill | VisitDrill):
                show(drill.guess(line[6:].strip().lower(), t))
            elif line.lower() == "/end":
                drill.end()
            else:
                show(drill.reply(line, t))
        except DrillError as exc:
            out.write(t(lang, exc.key, **exc.values) + "\n\n")
        if drill.finished:
            break
    if not drill.finished:
        drill.end()
    if drill.state_name == "debrief":
        show(render_end(drill, t))
    else:
        out.write(t(lang, "drill.abandoned") + "\n")


def result_json(drill: Drill) -> dict:
    score = drill.score()
    result = {"drill": HOT_BUTTON if isinstance(drill, HotButtonDrill) else drill.KIND,
              "scenario": drill.data.scenario, "score": score.total, "breakdown": score.to_dict()["items"]}
    if isinstance(drill, VisitDrill):
        result.update(persona=drill.persona.id, hot_button=drill.persona.hot_button, level="advanced",
                      identified_at=score.identified_at, objection=drill.objection.KIND,
                      outcome=drill.objection.data.outcome)
    elif isinstance(drill, HotButtonDrill):
        result.update(persona=drill.persona.id, hot_button=drill.persona.hot_button, level=drill.data.level,
                      identified_at=score.identified_at)
    else:
        result.update(persona=None, hot_button=None, identified_at=None, outcome=drill.data.outcome)
        if drill.KIND == "rumour":
            result["true_rumour"] = drill.scenario.true_rumour
    return result


def run_console(services: Services, t: Translator, lang: str, early_window: int, seed: int,
                persona: str | None = None, level: str | None = None, script: Iterable[str] | None = None,
                as_json: bool = False, intro: bool = False,
                stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr,
                replies_from: Callable[[str, TextIO], Iterator[str]] = _interactive,
                kind: str = HOT_BUTTON, scenario: str | None = None) -> int:
    try:
        drill = new_drill(services, kind, seed, lang, early_window, persona, level, scenario)
    except DrillError as exc:
        stderr.write(t(lang, exc.key, **exc.values) + "\n")
        return 2
    out = stderr if as_json else stdout
    if intro:
        out.write(t(lang, "console.intro") + "\n\n")
    replies = script if script is not None else replies_from(t(lang, "console.prompt"), out)
    play(drill, t, replies, out)
    if as_json:
        stdout.write(json.dumps(result_json(drill), ensure_ascii=False) + "\n")
    return 0
