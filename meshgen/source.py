"""Safe YAML loading that remembers where every key and value stood.

The file is read as a stream of parser events (libyaml through ruamel.yaml.clib when
available) and built into plain data here, so that anchors, aliases, merge keys,
duplicate keys and runaway nesting are refused at their position instead of being
expanded or silently resolved.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import VersionedResolver

from .errors import FleetError, Location, Problem, Problems
from .gcpause import collector_paused
from .readlog import Unreadable, read_capped

# a fleet of 3000 meshes as the bench writes them (issue 15) is 3.1 MB with 354,000
# values; these bounds leave room for it and keep a hostile file to seconds of loading
MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
# reading a value costs about 6 microseconds (bench/README.md): at most about 3 s
MAX_NODES = 500_000

TOO_MANY_VALUES = f"the file holds more than {MAX_NODES:,} values (keys, values and list items)"
TOO_MANY_VALUES_HINT = ("a fleet describes meshes, not data: keep bulk data out of it (such as "
                        "long lists in smcpSpec)")

PathKey = tuple[str | int, ...]
_COLUMN = (1 << 32) - 1  # a position is line << 32 | column

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {"!", None}
_SHARE_HINT = "use `defaults` or `meshTemplates` to share settings between meshes"


class Positions(MutableMapping[PathKey, Location]):
    """Where the nodes of one file stand, by path. Kept as one int per node (line << 32 |
    column) and made a Location when read: a 1000-mesh fleet holds over 100,000 nodes, few
    are read, and ints (unlike tuples) are no work for the cyclic garbage collector."""

    __slots__ = ("name", "raw")

    def __init__(self, name: str) -> None:
        self.name = name
        self.raw: dict[PathKey, int | Location] = {}

    def __getitem__(self, path: PathKey) -> Location:
        where = self.raw[path]
        if isinstance(where, Location):
            return where
        return Location(self.name, where >> 32, where & _COLUMN)

    def __setitem__(self, path: PathKey, where: Location) -> None:
        self.raw[path] = where

    def __delitem__(self, path: PathKey) -> None:
        del self.raw[path]

    def __contains__(self, path: object) -> bool:
        return path in self.raw

    def __iter__(self) -> Iterator[PathKey]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)


@dataclass
class SourceFile:
    """A parsed YAML file: plain data plus the position of every node."""

    name: str
    path: Path
    data: Any
    values: Positions = field(init=False)
    keys: Positions = field(init=False)

    def __post_init__(self) -> None:
        self.values = Positions(self.name)
        self.keys = Positions(self.name)

    def at(self, path: PathKey) -> Location:
        """Location of the value at path, or of its nearest located ancestor."""
        path = tuple(path)
        raw = self.values.raw
        while path:
            if path in raw:
                return self.values[path]
            path = path[:-1]
        return self.values[()] if () in raw else Location(self.name, 1, 1)

    def key_at(self, path: PathKey) -> Location:
        """Location of the key that introduces path (falls back to the value)."""
        path = tuple(path)
        return self.keys[path] if path in self.keys.raw else self.at(path)


def path_text(name: str) -> str:
    """A path as text that is the same under every locale: Python decodes file names and
    arguments with the locale's encoding (ISO-8859-1 turns UTF-8 "é" into "Ã©"), so the
    bytes are recovered and read as UTF-8; bytes that are no UTF-8 become \\xNN."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def load(path: Path, name: str | None = None) -> SourceFile:
    """Read and parse one YAML file; every failure is a located FleetError."""
    name = name or str(path)
    try:
        raw = read_capped(path, MAX_BYTES)
    except Unreadable as exc:
        raise FleetError(
            Problem("MG005", f"cannot read file: {exc}", Location(name, 1, 1),
                    "check the path passed to meshgen")
        ) from None
    if len(raw) > MAX_BYTES:
        raise FleetError(
            Problem("MG004", f"file is larger than the {MAX_BYTES} bytes allowed",
                    Location(name, 1, 1), "split the fleet or remove generated content from it")
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise FleetError(
            Problem("MG001", f"file is not UTF-8: {exc.reason} (byte 0x{raw[exc.start]:02x})",
                    Location(name, line, column), "save the file as UTF-8")
        ) from None
    return loads(text, name, path)


def loads(text: str, name: str, path: Path | None = None) -> SourceFile:
    source = SourceFile(name=name, path=path or Path(name), data=None)
    source.values[()] = Location(name, 1, 1)
    parse_into(_Builder(source), text, name)
    return source


def parse_into(builder: Any, text: str, name: str) -> None:
    """Feed the events of text to builder (its run(events), documents and problems), every
    YAML error raised as a located FleetError."""
    try:
        with warnings.catch_warnings(), collector_paused():
            warnings.simplefilter("ignore")
            builder.run(YAML(typ="safe").parse(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(
            part.strip() for part in (exc.context, exc.problem) if part
        ) or "invalid YAML"
        raise FleetError(
            Problem("MG001", f"YAML syntax error: {message}", _location(name, mark),
                    "fix the YAML syntax at this position (indentation, quotes, colons)")
        ) from None
    except ReaderError as exc:
        raise FleetError(_reader_problem(exc, text, name)) from None
    except (YAMLError, ValueError) as exc:
        raise FleetError(
            Problem("MG001", f"YAML syntax error: {exc}", Location(name, 1, 1),
                    "fix the YAML syntax")
        ) from None
    if builder.documents != 1:
        raise FleetError(
            Problem("MG001", f"expected exactly one YAML document, found {builder.documents}",
                    Location(name, 1, 1), "keep one fleet per file, without extra '---'")
        )
    builder.problems.raise_if_errors()


def _reader_problem(exc: ReaderError, text: str, name: str) -> Problem:
    """A character YAML does not allow (a control character), at its line and column."""
    position = exc.position if isinstance(exc.position, int) else 0
    before = text[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    character = exc.character if isinstance(exc.character, int) else 0
    return Problem("MG001", f"character U+{character:04X} is not allowed in YAML "
                   f"({exc.reason})", Location(name, line, column),
                   "remove it; in a double-quoted string it can be written as an escape, "
                   f'e.g. "\\x{character:02x}"' if character < 0x100 else
                   "remove it; in a double-quoted string it can be written as an escape")


def _location(name: str, mark: Any) -> Location:
    if mark is None:
        return Location(name, 1, 1)
    return Location(name, mark.line + 1, mark.column + 1)


class _Refused(Exception):
    """Stops the build of one file after a problem that makes the rest meaningless."""


class _Frame:
    """An open mapping or list: where it stands and, in a mapping, the key read last and
    its position until the key's value arrives."""

    __slots__ = ("container", "is_list", "key", "key_at", "path")

    def __init__(self, path: PathKey, container: dict[str, Any] | list[Any]) -> None:
        self.path = path
        self.container = container
        self.is_list = isinstance(container, list)
        self.key: str | None = None
        self.key_at = 0


def _resolver_table() -> dict[str | None, list[tuple[str, Any]]]:
    """ruamel's YAML 1.2 implicit resolvers by first character, read once: asking its
    VersionedResolver per scalar costs several microseconds (it looks for a loader's
    version through caught AttributeErrors, ruamel.yaml resolver.py processing_version)."""
    resolver = VersionedResolver(version=(1, 2))
    table: dict[str | None, list[tuple[str, Any]]] = resolver.versioned_resolver
    return {first: list(entries) for first, entries in table.items()}


_RESOLVERS = _resolver_table()
_ANY_FIRST = _RESOLVERS.get(None, [])


def _implicit_kind(value: str) -> str:
    """The tag suffix YAML 1.2 gives a plain scalar, as ruamel.yaml's
    VersionedResolver.resolve does it (ruamel.yaml resolver.py): the first resolver for
    the scalar's first character whose pattern matches, else str."""
    for tag, pattern in _RESOLVERS.get(value[:1], []) + _ANY_FIRST:
        if pattern.match(value):
            return str(tag).removeprefix(_TAG)
    return "str"


class _Builder:
    """Turns parser events into plain dicts, lists and scalars, recording positions."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.values = source.values.raw
        self.keys = source.keys.raw
        self.problems = Problems()
        self.documents = 0
        self.stack: list[_Frame] = []
        self.anchors: set[str] = set()
        self.nodes = 0
        self.kinds: dict[str, str] = {}
        # by the event's class: one dict look-up instead of a chain of isinstance tests
        self.handlers: dict[type, Any] = {
            ScalarEvent: self.on_scalar,
            MappingStartEvent: self.on_mapping,
            SequenceStartEvent: self.on_sequence,
            MappingEndEvent: self.on_end,
            SequenceEndEvent: self.on_end,
            AliasEvent: self.on_alias,
            DocumentStartEvent: self.on_document,
        }

    def run(self, events: Any) -> None:
        handlers = self.handlers
        try:
            for event in events:
                handler = handlers.get(type(event))
                if handler is not None:
                    handler(event)
        except _Refused:
            return

    def feed(self, event: Any) -> None:
        handler = self.handlers.get(type(event))
        if handler is not None:
            handler(event)

    def count(self, event: Any) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.error(event, "MG007", TOO_MANY_VALUES, TOO_MANY_VALUES_HINT)
            raise _Refused

    def on_scalar(self, event: Any) -> None:
        self.count(event)
        if event.anchor or event.tag not in _PLAIN_TAGS:
            self.check_node(event)
        self.place(event, self.scalar(event))

    def on_mapping(self, event: Any) -> None:
        self.count(event)
        if event.anchor or event.tag not in _PLAIN_TAGS:
            self.check_node(event)
        mapping: dict[str, Any] = {}
        self.open(event, self.place(event, mapping), mapping)

    def on_sequence(self, event: Any) -> None:
        self.count(event)
        if event.anchor or event.tag not in _PLAIN_TAGS:
            self.check_node(event)
        sequence: list[Any] = []
        self.open(event, self.place(event, sequence), sequence)

    def on_end(self, event: Any) -> None:
        self.stack.pop()

    def on_alias(self, event: Any) -> None:
        self.count(event)
        # the anchor it names is reported; the alias is left unexpanded
        self.place(event, None)

    def on_document(self, event: Any) -> None:
        self.documents += 1

    def check_node(self, event: Any) -> None:
        anchor = event.anchor
        if anchor:
            again = " again" if anchor in self.anchors else ""
            self.anchors.add(anchor)
            self.error(event, "MG003", f'YAML anchors are not allowed (anchor "&{anchor}"{again})',
                       _SHARE_HINT)
        tag = getattr(event, "tag", None)
        if tag not in _PLAIN_TAGS and not str(tag).startswith(_TAG):
            self.error(event, "MG001", f"YAML tag {tag} is not supported",
                       "remove the tag; fleet files hold plain mappings, lists and scalars")

    def place(self, event: Any, value: Any) -> PathKey:
        """Put value where the parser is (document root, next list item, key or value);
        the value's path."""
        mark = event.start_mark
        here = (mark.line + 1) << 32 | (mark.column + 1)
        if not self.stack:
            if self.documents == 1:
                self.source.data = value
            return ()
        frame = self.stack[-1]
        container = frame.container
        if frame.is_list:
            path: PathKey = (*frame.path, len(container))
            container.append(value)  # type: ignore[union-attr]
            self.values[path] = here
            return path
        key = frame.key
        if key is None:
            self.key(frame, event, value, here)
            return ()
        frame.key = None
        path = (*frame.path, key)
        container[key] = value  # type: ignore[call-overload]
        self.values[path] = here
        self.keys[path] = frame.key_at
        return path

    def key(self, frame: _Frame, event: Any, value: Any, here: int) -> None:
        if not isinstance(event, ScalarEvent):
            self.error(event, "MG001", "mapping keys must be plain scalars",
                       "write the key as a plain word")
            raise _Refused
        if event.value == "<<" and event.style in ("", None) and event.tag in _PLAIN_TAGS:
            self.error(event, "MG003", "YAML merge keys (<<) are not allowed", _SHARE_HINT)
        key = value if type(value) is str else "" if value is None else \
            str(value).lower() if isinstance(value, bool) else str(value)
        if key in frame.container:
            self.error(event, "MG002", f'duplicate key "{key}"',
                       "each key may appear once per mapping; merge the two entries")
            # keep both values apart; the error stops the run before the data is used
            key = f"\0duplicate:{key}:{here >> 32}:{here & _COLUMN}"
        frame.key = key
        frame.key_at = here

    def open(self, event: Any, path: PathKey, value: dict[str, Any] | list[Any]) -> None:
        if len(self.stack) >= MAX_DEPTH:
            self.error(event, "MG001", f"nesting deeper than {MAX_DEPTH} levels",
                       "flatten the structure; no fleet setting nests this deep")
            raise _Refused
        self.stack.append(_Frame(path, value))

    def scalar(self, event: Any) -> Any:
        value: str = event.value
        tag = event.tag
        style = event.style
        if style == '"' and _has_surrogate(value):
            self.error(event, "MG001", "escape sequence is no Unicode character (lone surrogate)",
                       "remove the \\uD800-\\uDFFF escape")
        if tag in _PLAIN_TAGS:
            if not (event.implicit[0] and style in ("", None)):
                return value
            kind = self.kinds.get(value)
            if kind is None:
                # a plain scalar's tag depends on its text only, and fleets repeat their
                # values a lot
                if len(self.kinds) >= 4096:
                    self.kinds.clear()
                kind = self.kinds[value] = _implicit_kind(value)
            if kind == "str":
                return value
        else:
            kind = str(tag).removeprefix(_TAG)
        try:
            return _construct(kind, value)
        except _OutOfRange:
            self.error(event, "MG006", f"integer {shortened(value)} is outside the 64-bit "
                       "range Kubernetes stores", "write a smaller number, or quote it to "
                       "make it a string")
            return None
        except ValueError:
            self.error(event, "MG001", f"{shortened(value)} is not a valid !!{kind}",
                       "fix the value or remove the tag")
            return value

    def error(self, event: Any, code: str, message: str, hint: str) -> None:
        self.problems.add(
            Problem(code, message, _location(self.source.name, event.start_mark), hint)
        )


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# Kubernetes stores integers as int64; larger ones cannot reach a cluster intact, and
# Python refuses to print those with more than 4,300 digits (sys.get_int_max_str_digits)
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


class _OutOfRange(ValueError):
    pass


def shortened(value: str, limit: int = 40) -> str:
    """value quoted for a message, cut to limit characters (with its length) if longer."""
    if len(value) <= limit:
        return f'"{value}"'
    return f'"{value[:limit]}…" ({len(value)} characters)'


def _construct(kind: str, value: str) -> Any:
    if kind == "null":
        return None
    if kind == "bool":
        if value.lower() not in ("true", "false"):
            raise ValueError(value)
        return value.lower() == "true"
    if kind == "int":
        digits = value.replace("_", "")
        sign = -1 if digits.startswith("-") else 1
        digits = digits.lstrip("+-")
        base = 0 if digits[:2].lower() in ("0x", "0o", "0b") else 10
        if base == 10 and len(digits.lstrip("0")) > len(str(INT_MAX)):
            raise _OutOfRange(value)  # decided before int() would meet Python's limit
        number = sign * int(digits, base)
        if not INT_MIN <= number <= INT_MAX:
            raise _OutOfRange(value)
        return number
    if kind == "float":
        lowered = value.lower().replace("_", "")
        if lowered.lstrip("+-") == ".inf":
            return -math.inf if lowered.startswith("-") else math.inf
        if lowered == ".nan":
            return math.nan
        return float(lowered)
    # timestamps, binary and anything else stay as the text the user wrote
    return value
