"""Objection drill scenarios (data/drills/{rumour,price}/*.yaml): models, loading and validation.

Same rules as persona files: every text in zh and en, strict fields, and every error naming the
file, line, field path and value. `load_drill_catalog()` loads both banks once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from personas.loader import ID_PATTERN, read_line, read_text
from personas.models import Text
from personas.yamlnodes import DataError, Node

DRILL_KINDS = ("rumour", "price")
DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "drills"
LINE_KINDS = {
    "rumour": ("raise", "press", "defensive", "bashing", "resolved", "trust_lost"),
    "price": ("demand", "press", "reveal", "grab", "counter", "committed", "bad_deal"),
}
EXTRA_TEXTS = {"rumour": ("facts",), "price": ("pressure", "real_reason", "room")}
COMMON_TEXTS = ("industry", "org", "product", "competitor", "customer", "situation", "purpose")
MIN_LINES = 3
PLACEHOLDERS = ("product", "org", "competitor")


@dataclass(frozen=True)
class DrillScenario:
    id: str
    drill: str
    texts: dict[str, Text]  # industry, org, product, competitor, customer, situation, purpose, + the drill's extras
    lines: dict[str, tuple[Text, ...]]
    key_point: Text
    model_replies: dict[str, tuple[str, ...]]
    true_rumour: bool | None = None
    source: str = field(default="", compare=False)

    def text(self, name: str, lang: str) -> str:
        return self.texts[name].get(lang)

    def fill(self, line: str, lang: str) -> str:
        for name in ("product", "org", "competitor"):
            line = line.replace("{" + name + "}", self.texts[name].get(lang))
        return line


def _bool(node: Node) -> bool:
    value = node.raw()
    if not isinstance(value, bool):
        raise node.error("expected true or false", value)
    return value


def load_scenario(path: Path) -> DrillScenario:
    root = Node.load(path)
    kind = root.field("drill").str()
    if kind not in DRILL_KINDS or path.parent.name != kind:
        raise root.field("drill").error(f"must be the folder's drill kind '{path.parent.name}'", kind)
    names = (*COMMON_TEXTS, *EXTRA_TEXTS[kind])
    root.only({"id", "drill", "true_rumour", "lines", "debrief", *names} if kind == "rumour"
              else {"id", "drill", "lines", "debrief", *names})
    scenario_id = root.field("id").str(ID_PATTERN)
    if scenario_id != path.stem:
        raise root.field("id").error(f"must equal the file name '{path.stem}'", scenario_id)
    lines_node = root.field("lines")
    lines_node.only(set(LINE_KINDS[kind]))
    lines = {name: tuple(read_text(item, PLACEHOLDERS) for item in lines_node.field(name).list(MIN_LINES))
             for name in LINE_KINDS[kind]}
    debrief = root.field("debrief")
    debrief.only({"key_point", "model_replies"})
    replies = debrief.field("model_replies")
    replies.only({"zh", "en"})
    model_replies = {}
    for lang in ("zh", "en"):
        items = replies.field(lang).list(2)
        if len(items) > 3:
            raise replies.field(lang).error("give 2 or 3 model replies", len(items))
        model_replies[lang] = tuple(read_line(item, PLACEHOLDERS) for item in items)
    return DrillScenario(
        id=scenario_id, drill=kind, texts={name: read_text(root.field(name)) for name in names}, lines=lines,
        key_point=read_text(debrief.field("key_point"), PLACEHOLDERS), model_replies=model_replies,
        true_rumour=_bool(root.field("true_rumour")) if kind == "rumour" else None, source=str(path))


@dataclass(frozen=True)
class DrillCatalog:
    scenarios: dict[str, DrillScenario]

    def of_kind(self, kind: str) -> list[DrillScenario]:
        return [s for s in self.scenarios.values() if s.drill == kind]

    def get(self, scenario_id: str) -> DrillScenario:
        try:
            return self.scenarios[scenario_id]
        except KeyError:
            raise KeyError(f"unknown scenario {scenario_id!r}") from None


def check_drills(directory: Path = DATA_DIR) -> tuple[DrillCatalog, list[DataError]]:
    """Load every scenario file; return what loaded and every error."""
    scenarios: dict[str, DrillScenario] = {}
    errors: list[DataError] = []
    for kind in DRILL_KINDS:
        files = sorted((directory / kind).glob("*.yaml"))
        if not files:
            errors.append(DataError(str(directory / kind), 0, "", "no scenario files (*.yaml) found"))
        for path in files:
            try:
                scenario = load_scenario(path)
            except DataError as exc:
                errors.append(exc)
                continue
            if scenario.id in scenarios:
                errors.append(DataError(str(path), 0, "id", "scenario id used twice", scenario.id))
                continue
            scenarios[scenario.id] = scenario
    return DrillCatalog(scenarios), errors


def load_drill_catalog(directory: Path = DATA_DIR) -> DrillCatalog:
    catalog, errors = check_drills(directory)
    if errors:
        raise errors[0]
    return catalog
