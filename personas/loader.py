"""Load and validate persona files (data/personas/*.yaml) into `Persona` models.

Validation is strict so a trainer's typo fails at load, never mid-drill: every error names the
file, line, field path and bad value. `python -m personas.loader FILE...` checks files by hand.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from personas.models import (
    LANGUAGES,
    LEVELS,
    PLACEHOLDERS,
    REACTION_KINDS,
    STAGES,
    Cue,
    Opening,
    Persona,
    Scenario,
    Text,
)
from personas.yamlnodes import DataError, Node
from scoring.types import MOTIVES

ID_PATTERN = r"[a-z][a-z0-9_]*"
MIN_SCENARIOS, MIN_OPENINGS, MIN_REACTIONS, MIN_CLOSING, MIN_CUES = 3, 4, 3, 3, 4
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_TOP_FIELDS = {
    "id", "name", "trait", "hot_button", "secondary_motive", "dislikes", "summary", "cues",
    "scenarios", "openings", "reactions", "closing", "debrief",
}


def read_line(node: Node, placeholders: tuple[str, ...] = PLACEHOLDERS) -> str:
    value = node.str()
    for name in _PLACEHOLDER.findall(value):
        if name not in placeholders:
            allowed = ", ".join("{" + p + "}" for p in placeholders)
            raise node.error(f"unknown placeholder {{{name}}}; allowed: {allowed}", value)
    return value


def read_text(node: Node, placeholders: tuple[str, ...] = PLACEHOLDERS) -> Text:
    """A {zh, en} pair; both languages are required."""
    node.only(set(LANGUAGES))
    return _pair(node, placeholders)


def _pair(node: Node, placeholders: tuple[str, ...] = PLACEHOLDERS) -> Text:
    """The zh and en fields of a mapping that may hold other fields too."""
    return Text(zh=read_line(node.field("zh"), placeholders), en=read_line(node.field("en"), placeholders))


def _texts(node: Node, min_len: int) -> tuple[Text, ...]:
    return tuple(read_text(item) for item in node.list(min_len))


def _motive(node: Node) -> str:
    value = node.str()
    if value not in MOTIVES:
        raise node.error(f"unknown motive; use one of {', '.join(MOTIVES)}", value)
    return value


def _scenario(node: Node) -> Scenario:
    fields = ("industry", "org", "product", "customer", "situation", "purpose")
    node.only({"id", *fields})
    texts = {name: read_text(node.field(name)) for name in fields}
    return Scenario(id=node.field("id").str(ID_PATTERN), **texts)


def _unique_ids(nodes: list[Node], label: str) -> list[str]:
    seen: list[str] = []
    for node in nodes:
        value = node.field("id").str(ID_PATTERN)
        if value in seen:
            raise node.field("id").error(f"duplicate {label} id", value)
        seen.append(value)
    return seen


def _openings(node: Node, cue_ids: set[str]) -> dict[str, tuple[Opening, ...]]:
    node.only(set(LEVELS))
    result: dict[str, tuple[Opening, ...]] = {}
    for level in LEVELS:
        openings = []
        for item in node.field(level).list(MIN_OPENINGS):
            item.only({"cues", "zh", "en"})
            cues_node = item.field("cues")
            cues = tuple(cue.str() for cue in cues_node.list(1))
            for index, cue in enumerate(cues):
                if cue not in cue_ids:
                    raise cues_node.list()[index].error("cue id not defined under 'cues'", cue)
            openings.append(Opening(cues=cues, text=_pair(item)))
        result[level] = tuple(openings)
    return result


def _reactions(node: Node) -> dict[str, dict[str, tuple[Text, ...]]]:
    node.only(set(REACTION_KINDS))
    result: dict[str, dict[str, tuple[Text, ...]]] = {}
    for kind in REACTION_KINDS:
        stages = node.field(kind)
        stages.only(set(STAGES))
        result[kind] = {stage: _texts(stages.field(stage), MIN_REACTIONS) for stage in STAGES}
    return result


def _model_replies(node: Node) -> dict[str, tuple[str, ...]]:
    node.only(set(LANGUAGES))
    result = {}
    for lang in LANGUAGES:
        items = node.field(lang).list(2)
        if len(items) > 3:
            raise node.field(lang).error("give 2 or 3 model replies", len(items))
        result[lang] = tuple(read_line(item) for item in items)
    return result


def load_persona(path: Path) -> Persona:
    """Read one persona file; raise DataError naming file, line, field and value on any problem."""
    root = Node.load(path)
    root.only(_TOP_FIELDS)
    persona_id = root.field("id").str(ID_PATTERN)
    if persona_id != path.stem:
        raise root.field("id").error(f"must equal the file name '{path.stem}'", persona_id)
    hot = _motive(root.field("hot_button"))
    secondary = _motive(root.field("secondary_motive"))
    if secondary == hot:
        raise root.field("secondary_motive").error("must differ from hot_button", secondary)
    dislikes_node = root.field("dislikes")
    dislikes = tuple(_motive(item) for item in dislikes_node.list(1))
    if hot in dislikes or secondary in dislikes:
        raise dislikes_node.error("must not contain the hot button or the secondary motive", list(dislikes))
    cue_nodes = root.field("cues").list(MIN_CUES)
    cue_ids = _unique_ids(cue_nodes, "cue")
    cues = []
    for cue_id, item in zip(cue_ids, cue_nodes, strict=True):
        item.only({"id", "zh", "en"})
        cues.append(Cue(id=cue_id, text=_pair(item)))
    scenario_nodes = root.field("scenarios").list(MIN_SCENARIOS)
    _unique_ids(scenario_nodes, "scenario")
    closing = root.field("closing")
    closing.only({"prompt", "commitment", "hesitant"})
    debrief = root.field("debrief")
    debrief.only({"why", "model_replies"})
    return Persona(
        id=persona_id,
        name=read_text(root.field("name")),
        trait=read_text(root.field("trait")),
        hot_button=hot,
        secondary_motive=secondary,
        dislikes=dislikes,
        summary=read_text(root.field("summary")),
        cues=tuple(cues),
        scenarios=tuple(_scenario(item) for item in scenario_nodes),
        openings=_openings(root.field("openings"), set(cue_ids)),
        reactions=_reactions(root.field("reactions")),
        closing_prompt=_texts(closing.field("prompt"), MIN_CLOSING),
        commitment=_texts(closing.field("commitment"), MIN_CLOSING),
        hesitant=_texts(closing.field("hesitant"), MIN_CLOSING),
        why=read_text(debrief.field("why")),
        model_replies=_model_replies(debrief.field("model_replies")),
        source=str(path),
    )


def main(argv: list[str]) -> int:
    failed = 0
    for name in argv:
        try:
            persona = load_persona(Path(name))
            print(f"ok  {name}: {persona.id} ({len(persona.scenarios)} scenarios)")
        except DataError as exc:
            failed += 1
            print(f"ERR {exc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
