"""Safe YAML loading that remembers where every key and value stood."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .errors import FleetError, Location, Problem, Problems

MAX_BYTES = 4 * 1024 * 1024

PathKey = tuple[str | int, ...]


@dataclass
class SourceFile:
    """A parsed YAML file: plain data plus the position of every node."""

    name: str
    path: Path
    data: Any
    values: dict[PathKey, Location] = field(default_factory=dict)
    keys: dict[PathKey, Location] = field(default_factory=dict)

    def at(self, path: PathKey) -> Location:
        """Location of the value at path, or of its nearest located ancestor."""
        path = tuple(path)
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), Location(self.name, 1, 1))

    def key_at(self, path: PathKey) -> Location:
        """Location of the key that introduces path (falls back to the value)."""
        return self.keys.get(tuple(path)) or self.at(path)


def _location(name: str, mark: Any) -> Location:
    if mark is None:
        return Location(name, 1, 1)
    return Location(name, mark.line + 1, mark.column + 1)


def load(path: Path, name: str | None = None) -> SourceFile:
    """Read and parse one YAML file; every failure is a located FleetError."""
    name = name or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FleetError(
            Problem("MG005", f"cannot read file: {exc.strerror or exc}", Location(name),
                    "check the path passed to meshgen")
        ) from None
    if len(raw) > MAX_BYTES:
        raise FleetError(
            Problem("MG004", f"file is {len(raw)} bytes, more than the {MAX_BYTES} allowed",
                    Location(name), "split the fleet or remove generated content from it")
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FleetError(
            Problem("MG001", f"file is not UTF-8: {exc.reason}", Location(name),
                    "save the file as UTF-8")
        ) from None
    return loads(text, name, path)


def loads(text: str, name: str, path: Path | None = None) -> SourceFile:
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        docs = list(yaml.load_all(text))
    except DuplicateKeyError as exc:
        key = str(exc.problem).split('"')[1] if '"' in str(exc.problem) else "?"
        raise FleetError(
            Problem("MG002", f'duplicate key "{key}"', _location(name, exc.problem_mark),
                    "each key may appear once per mapping; merge the two entries")
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = (exc.problem or exc.context or "invalid YAML").strip()
        raise FleetError(
            Problem("MG001", f"YAML syntax error: {message}", _location(name, mark),
                    "fix the YAML syntax at this position (indentation, quotes, colons)")
        ) from None
    except YAMLError as exc:
        raise FleetError(
            Problem("MG001", f"YAML syntax error: {exc}", Location(name, 1, 1),
                    "fix the YAML syntax")
        ) from None
    if len(docs) != 1:
        raise FleetError(
            Problem("MG001", f"expected exactly one YAML document, found {len(docs)}",
                    Location(name, 1, 1), "keep one fleet per file, without extra '---'")
        )
    source = SourceFile(name=name, path=path or Path(name), data=None)
    problems = Problems()
    source.values[()] = Location(name, 1, 1)
    source.data = _plain(docs[0], (), source, problems)
    problems.raise_if_errors()
    return source


def _anchor(node: Any) -> str | None:
    anchor = getattr(node, "anchor", None)
    return getattr(anchor, "value", None) if anchor is not None else None


def _plain(node: Any, path: PathKey, source: SourceFile, problems: Problems) -> Any:
    """Convert ruamel's round-trip objects to plain data, recording positions."""
    if _anchor(node):
        problems.add(Problem(
            "MG003", f'YAML anchors and aliases are not allowed (anchor "&{_anchor(node)}")',
            source.at(path),
            "use `defaults` or `meshTemplates` to share settings between meshes",
        ))
    if isinstance(node, CommentedMap):
        if node.merge:
            problems.add(Problem("MG003", "YAML merge keys (<<) are not allowed", source.at(path),
                                 "use `defaults` or `meshTemplates` to share settings"))
        result: dict[str, Any] = {}
        own = node.lc.data or {}
        for key in (k for k in node if k in own):  # merged keys have no position of their own
            child = (*path, str(key))
            key_line, key_col = node.lc.key(key)
            value_line, value_col = node.lc.value(key)
            source.keys[child] = Location(source.name, key_line + 1, key_col + 1)
            source.values[child] = Location(source.name, value_line + 1, value_col + 1)
            result[str(key)] = _plain(node[key], child, source, problems)
        return result
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for index, item in enumerate(node):
            child = (*path, index)
            line, col = node.lc.item(index)
            source.values[child] = Location(source.name, line + 1, col + 1)
            items.append(_plain(item, child, source, problems))
        return items
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, (datetime.date, datetime.datetime)):
        return node.isoformat()
    return str(node)
