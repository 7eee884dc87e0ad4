"""meshgen/source.py as it was before its fast path (issue 15), kept as the oracle that
tests/test_source_events.py compares the loader with: same data, positions and problems.
Only the builder of events is the old one; reading, parsing and the helpers are shared."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from meshgen.errors import Location, Problem, Problems

# unchanged by the rewrite: the helpers the loader had are the ones it has
from meshgen.source import (
    MAX_DEPTH,
    MAX_NODES,
    TOO_MANY_VALUES,
    TOO_MANY_VALUES_HINT,
    _construct,
    _has_surrogate,
    _location,
    _OutOfRange,
    _Refused,
    parse_into,
    shortened,
)

PathKey = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {"!", None}
_SHARE_HINT = "use `defaults` or `meshTemplates` to share settings between meshes"


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


def loads(text: str, name: str, path: Path | None = None) -> SourceFile:
    source = SourceFile(name=name, path=path or Path(name), data=None)
    source.values[()] = Location(name, 1, 1)
    parse_into(_Builder(source), text, name)
    return source


@dataclass
class _Frame:
    path: PathKey
    container: dict[str, Any] | list[Any]
    # in a mapping: the key read last and where it stands, until its value arrives
    pending: tuple[str, Location] | None = None


class _Builder:
    """Turns parser events into plain dicts, lists and scalars, recording positions."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.problems = Problems()
        self.documents = 0
        self.resolver = VersionedResolver(version=(1, 2))
        self.stack: list[_Frame] = []
        self.anchors: set[str] = set()
        self.nodes = 0
        self.resolved: dict[str, Any] = {}

    def run(self, events: Any) -> None:
        try:
            for event in events:
                self.feed(event)
        except _Refused:
            return

    def feed(self, event: Any) -> None:
        if isinstance(event, (ScalarEvent, MappingStartEvent, SequenceStartEvent,
                              AliasEvent)):
            self.nodes += 1
            if self.nodes > MAX_NODES:
                self.error(event, "MG007", TOO_MANY_VALUES, TOO_MANY_VALUES_HINT)
                raise _Refused
        if isinstance(event, ScalarEvent):
            self.check_node(event)
            self.place(event, self.scalar(event))
        elif isinstance(event, MappingStartEvent):
            self.check_node(event)
            self.place(event, {})
        elif isinstance(event, SequenceStartEvent):
            self.check_node(event)
            self.place(event, [])
        elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
            self.stack.pop()
        elif isinstance(event, AliasEvent):
            # the anchor it names is reported; the alias is left unexpanded
            self.place(event, None)
        elif isinstance(event, DocumentStartEvent):
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

    def place(self, event: Any, value: Any) -> None:
        """Put value where the parser is: document root, next list item, key or value."""
        here = _location(self.source.name, event.start_mark)
        if not self.stack:
            if self.documents == 1:
                self.source.data = value
            self.open(event, (), value)
            return
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            path: PathKey = (*frame.path, len(frame.container))
            frame.container.append(value)
            self.source.values[path] = here
            self.open(event, path, value)
            return
        if frame.pending is None:
            self.key(frame, event, value, here)
            return
        key, key_at = frame.pending
        frame.pending = None
        path = (*frame.path, key)
        frame.container[key] = value
        self.source.values[path] = here
        self.source.keys[path] = key_at
        self.open(event, path, value)

    def key(self, frame: _Frame, event: Any, value: Any, here: Location) -> None:
        if not isinstance(event, ScalarEvent):
            self.error(event, "MG001", "mapping keys must be plain scalars",
                       "write the key as a plain word")
            raise _Refused
        if event.value == "<<" and event.style in ("", None) and event.tag in _PLAIN_TAGS:
            self.error(event, "MG003", "YAML merge keys (<<) are not allowed", _SHARE_HINT)
        key = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        assert isinstance(frame.container, dict)
        if key in frame.container:
            self.error(event, "MG002", f'duplicate key "{key}"',
                       "each key may appear once per mapping; merge the two entries")
            # keep both values apart; the error stops the run before the data is used
            key = f"\0duplicate:{key}:{here.line}:{here.column}"
        frame.pending = (key, here)

    def open(self, event: Any, path: PathKey, value: Any) -> None:
        if not isinstance(event, (MappingStartEvent, SequenceStartEvent)):
            return
        if len(self.stack) >= MAX_DEPTH:
            self.error(event, "MG001", f"nesting deeper than {MAX_DEPTH} levels",
                       "flatten the structure; no fleet setting nests this deep")
            raise _Refused
        self.stack.append(_Frame(path, value))

    def scalar(self, event: Any) -> Any:
        value: str = event.value
        tag = event.tag
        if event.style == '"' and _has_surrogate(value):
            self.error(event, "MG001", "escape sequence is no Unicode character (lone surrogate)",
                       "remove the \\uD800-\\uDFFF escape")
        if tag in _PLAIN_TAGS:
            plain = event.implicit[0] and event.style in ("", None)
            if not plain:
                return value
            tag = self.resolved.get(value)
            if tag is None:
                # the resolver is the slowest step of loading; a plain scalar's tag
                # depends on its text only, and fleets repeat their values a lot
                if len(self.resolved) >= 4096:
                    self.resolved.clear()
                tag = self.resolved[value] = self.resolver.resolve(ScalarNode, value,
                                                                   event.implicit)
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
