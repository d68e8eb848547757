"""Read a YAML document as typed values while keeping file, line and field path for errors.

`Node` wraps PyYAML's composed node tree; every accessor raises `DataError`, whose message names
the file, the line, the field path (e.g. `reactions.hit.early[2].zh`) and the bad value.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml


class DataError(ValueError):
    """A content file is invalid; the message says where and why."""

    def __init__(self, file: str, line: int, path: str, message: str, value: object = None) -> None:
        self.file, self.line, self.path, self.value = file, line, path, value
        shown = "" if value is None else f" (got {_short(value)})"
        super().__init__(f"{file}:{line}: {path or '<document>'}: {message}{shown}")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Node:
    """A YAML node plus where it came from."""

    def __init__(self, node: yaml.Node, file: str, path: str = "") -> None:
        self._node, self.file, self.path = node, file, path

    @classmethod
    def load(cls, path: Path) -> Node:
        shown = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(shown, 0, "", f"cannot read file: {exc}") from exc
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 0
            raise DataError(shown, line, "", f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc
        if node is None:
            raise DataError(shown, 1, "", "file is empty")
        return cls(node, shown)

    @property
    def line(self) -> int:
        return self._node.start_mark.line + 1

    def error(self, message: str, value: object = None) -> DataError:
        return DataError(self.file, self.line, self.path, message, value)

    def _child(self, node: yaml.Node, suffix: str) -> Node:
        return Node(node, self.file, f"{self.path}{suffix}")

    def _keys(self) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(self._node, yaml.MappingNode):
            raise self.error("expected a mapping of fields", self.raw())
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in self._node.value:
            key = str(key_node.value)
            if key in found:
                raise Node(key_node, self.file, self._join(key)).error("field appears twice")
            found[key] = (key_node, value_node)
        return found

    def _join(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def field(self, key: str) -> Node:
        keys = self._keys()
        if key not in keys:
            raise self.error(f"missing required field '{self._join(key)}'")
        return self._child(keys[key][1], f".{key}" if self.path else key)

    def has(self, key: str) -> bool:
        return key in self._keys()

    def only(self, allowed: set[str]) -> None:
        for key, (key_node, _) in self._keys().items():
            if key not in allowed:
                where = Node(key_node, self.file, self._join(key))
                raise where.error(f"unknown field; allowed: {', '.join(sorted(allowed))}", key)

    def items(self) -> Iterator[tuple[str, Node]]:
        for key, (_, value) in self._keys().items():
            yield key, self._child(value, f".{key}" if self.path else key)

    def list(self, min_len: int = 0) -> list[Node]:
        if not isinstance(self._node, yaml.SequenceNode):
            raise self.error("expected a list", self.raw())
        if len(self._node.value) < min_len:
            raise self.error(f"needs at least {min_len} entries, has {len(self._node.value)}")
        return [self._child(item, f"[{i}]") for i, item in enumerate(self._node.value)]

    def str(self, pattern: str | None = None) -> str:
        if not isinstance(self._node, yaml.ScalarNode) or self._node.tag != "tag:yaml.org,2002:str":
            raise self.error("expected text", self.raw())
        value = self._node.value.strip()
        if not value:
            raise self.error("must not be empty", self._node.value)
        if pattern is not None:
            import re

            if not re.fullmatch(pattern, value):
                raise self.error(f"must match {pattern}", value)
        return value

    def raw(self) -> object:
        return yaml.safe_load(yaml.serialize(self._node))
