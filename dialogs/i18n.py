"""User-facing strings in Chinese and English, from data/locales/{zh,en}.yaml and {section}.{zh,en}.yaml.

Keys are dotted names (`debrief.title`); values are `str.format` templates. A section file
(`report.zh.yaml`) holds the keys under its own name (`report.…`), so each part of the product can
keep its strings apart. `check_locales` verifies both languages have the same keys and placeholders.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

import yaml

from personas.yamlnodes import DataError

LOCALE_DIR = Path(__file__).resolve().parent.parent / "data" / "locales"
LANGUAGES = ("zh", "en")


def _flatten(prefix: str, value: object, out: dict[str, str], path: Path) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if not isinstance(key, str):  # YAML reads a bare on/off/yes/no key as a boolean
                raise DataError(str(path), 0, prefix, "key is not text; quote it", key)
            _flatten(f"{prefix}.{key}" if prefix else key, inner, out, path)
    else:
        out[prefix] = str(value)


@lru_cache(maxsize=4)
def load_locales(directory: Path = LOCALE_DIR) -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        table: dict[str, str] = {}
        for path in [directory / f"{lang}.yaml", *sorted(directory.glob(f"*.{lang}.yaml"))]:
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise DataError(str(path), 0, "", f"cannot load locale: {exc}") from exc
            section = path.name.removesuffix(f".{lang}.yaml") if path.name != f"{lang}.yaml" else ""
            _flatten(section, data or {}, table, path)
        tables[lang] = table
    return tables


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def check_locales(directory: Path = LOCALE_DIR) -> list[DataError]:
    """Return every key or placeholder that one language has and the other lacks."""
    load_locales.cache_clear()
    try:
        tables = load_locales(directory)
    except DataError as exc:
        return [exc]
    errors = []
    zh, en = tables["zh"], tables["en"]
    for key in sorted(set(zh) ^ set(en)):
        lacking = "en" if key in zh else "zh"
        errors.append(DataError(str(directory / f"{lacking}.yaml"), 0, key, "key missing in this language"))
    for key in sorted(set(zh) & set(en)):
        if _fields(zh[key]) != _fields(en[key]):
            errors.append(DataError(str(directory / "en.yaml"), 0, key, "placeholders differ from zh.yaml", en[key]))
    return errors


class Translator:
    """`t(lang, key, **values)`; falls back to Chinese, then to the key itself, never raises."""

    def __init__(self, tables: dict[str, dict[str, str]] | None = None) -> None:
        self.tables = tables or load_locales()

    def __call__(self, lang: str, key: str, **values: object) -> str:
        table = self.tables.get(lang) or self.tables["zh"]
        template = table.get(key) or self.tables["zh"].get(key) or key
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            return template
