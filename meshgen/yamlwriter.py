"""Canonical YAML text, written directly: the same bytes as meshgen/emit_reference.py,
several times faster.

The layout of a block document is simple (two-space mappings, sequences not indented
inside a mapping, `{}` and `[]` for empty collections); the hard part is how one scalar
is written (plain or quoted, escapes, literal blocks). That is never decided here: a
scalar's text is asked of the reference emitter once and remembered. Only strings that
PyYAML's own resolver reads back as strings and that consist of characters no YAML
emitter quotes are written as they are without asking. What the writer cannot place
exactly (non-string keys, other types, very long strings, a scalar that leaves the
document open-ended) makes it hand the whole document to the reference."""

from __future__ import annotations

import re
from typing import Any

import yaml
import yaml.resolver

from .emit_reference import FIRST_KEYS, canonical_keys, reference_text

# Longer strings may be folded at the reference's line width (65536 columns); the writer
# leaves those to the reference rather than model the column. What it places itself is
# bounded as written (escapes such as \U000E0001 take ten columns per character): a key's
# text, the indentation and a value's text then stay under the width together.
MAX_STRING = 16384
MAX_INDENT = 256  # deeper than any Kubernetes object; the reference handles the rest
MAX_KEY_TEXT = 1024
MAX_VALUE_TEXT = 32768
SHORT_KEY = 64  # a longer key may be written as a complex key (`? `): the reference decides
STR_TAG = "tag:yaml.org,2002:str"
LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")  # what libyaml treats as a break
# Characters that are never indicators or need quoting anywhere in a plain scalar.
_FIRST = frozenset(FIRST_KEYS)  # without these, canonical order is sorted order
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]*")


class _Unsupported(Exception):
    """The document holds something the writer does not place itself."""


def _has_break(text: str) -> bool:
    return any(b in text for b in LINE_BREAKS)


def _nested(indent: int, leaf: Any) -> Any:
    """leaf, a mapping, inside mappings deep enough that it sits at indent (a sequence
    that is a mapping's value sits at the mapping's indent)."""
    for _ in range(indent // 2):
        leaf = {"k": leaf}
    return leaf


class YamlWriter:
    """Writes documents; remembers every scalar's text, so one writer per build."""

    def __init__(self) -> None:
        self._resolver = yaml.resolver.Resolver()
        self._keys: dict[str, str | None] = {}
        self._values: dict[str, str | None] = {}  # None: the text depends on where it is
        self._placed: dict[tuple[str, int, bool], str | None] = {}
        self._floats: dict[str, str] = {}
        self.fallbacks = 0  # documents handed to the reference

    def text(self, obj: Any) -> str:
        """One document's YAML, exactly as emit_reference.reference_text writes it."""
        if type(obj) is dict and obj:
            parts: list[str] = []
            try:
                self._mapping(obj, 0, False, parts)
                return "".join(parts)
            except _Unsupported:
                pass
        self.fallbacks += 1
        return reference_text(obj)

    def _mapping(self, mapping: dict[Any, Any], indent: int, inline: bool,
                 out: list[str]) -> None:
        if indent > MAX_INDENT or any(type(k) is not str for k in mapping):
            raise _Unsupported
        pad = " " * indent
        keys = sorted(mapping)
        if not _FIRST.isdisjoint(mapping):
            keys = canonical_keys(mapping)
        for position, key in enumerate(keys):
            if position or not inline:
                out.append(pad)
            out.append(self._key(key))
            out.append(":")
            self._value(mapping[key], indent, False, out)

    def _sequence(self, items: list[Any], indent: int, inline: bool, out: list[str]) -> None:
        if indent > MAX_INDENT:
            raise _Unsupported
        pad = " " * indent
        for position, item in enumerate(items):
            if position or not inline:
                out.append(pad)
            out.append("-")
            self._value(item, indent, True, out)

    def _value(self, value: Any, indent: int, in_sequence: bool, out: list[str]) -> None:
        """value after `key:` of a mapping at indent, or after `-` of a sequence at indent."""
        kind = type(value)
        if kind is str:
            out.append(" ")
            out.append(self._string(value, indent, in_sequence))
        elif kind is dict:
            if not value:
                out.append(" {}\n")
            elif in_sequence:
                out.append(" ")
                self._mapping(value, indent + 2, True, out)
            else:
                out.append("\n")
                self._mapping(value, indent + 2, False, out)
        elif kind is list:
            if not value:
                out.append(" []\n")
            elif in_sequence:
                out.append(" ")
                self._sequence(value, indent + 2, True, out)
            else:
                out.append("\n")  # a sequence inside a mapping is not indented
                self._sequence(value, indent, False, out)
        elif value is None:
            out.append(" null\n")
        elif kind is bool:
            out.append(" true\n" if value else " false\n")
        elif kind is int:
            out.append(f" {value}\n")  # SafeRepresenter.represent_int: str(data)
        elif kind is float:
            out.append(" ")
            out.append(self._float(value))
        else:
            raise _Unsupported

    def _plain(self, text: str) -> bool:
        if _PLAIN.fullmatch(text) is None:
            return False
        tag = self._resolver.resolve(  # type: ignore[no-untyped-call]
            yaml.ScalarNode, text, (True, False))
        return bool(tag == STR_TAG)

    def _key(self, key: str) -> str:
        text = self._keys.get(key, "")
        if text == "":
            text = self._keys[key] = self._key_text(key)
        if text is None:
            raise _Unsupported
        return text

    def _key_text(self, key: str) -> str | None:
        if len(key) > MAX_STRING:
            return None
        if len(key) <= SHORT_KEY and self._plain(key):
            return key
        written = reference_text({key: "X"})
        if written.startswith("? ") or not written.endswith(": X\n"):
            return None  # a complex key (`? `): multi-line or too long for a simple key
        text = written[:-len(": X\n")]
        return None if _has_break(text) or len(text) > MAX_KEY_TEXT else text

    def _string(self, value: str, indent: int, in_sequence: bool) -> str:
        """The string's text after `key: ` or `- `, with its line break(s)."""
        text = self._values.get(value, "")
        if text == "":
            text = self._values[value] = self._line(value)
        if text is not None:
            return text
        where = (value, indent, in_sequence)
        placed = self._placed.get(where, "")
        if placed == "":
            placed = self._placed[where] = self._placed_text(value, indent, in_sequence)
        if placed is None:
            raise _Unsupported
        return placed

    def _line(self, value: str) -> str | None:
        """The string's one-line text, the same wherever it stands; None when it spans
        lines (literal blocks, quoted breaks) and so depends on the indentation."""
        if len(value) > MAX_STRING:
            raise _Unsupported
        if self._plain(value):
            return value + "\n"
        if _has_break(value):
            return None
        written = reference_text({"k": value})
        text = written[len("k: "):]
        if len(text) > MAX_VALUE_TEXT:
            raise _Unsupported
        if not written.startswith("k: ") or text.count("\n") != 1 or \
                _has_break(text[:-1]):
            return None
        return text

    @staticmethod
    def _placed_text(value: str, indent: int, in_sequence: bool) -> str | None:
        """The string's text as the reference writes it in a collection at indent,
        between a marker before and one after it (so that nothing it leaves open, such
        as a `...` after a keep-chomped block, goes unseen)."""
        def written(leaf: str) -> str:
            inner = {"k": [leaf, "X"]} if in_sequence else {"k": leaf, "l": "X"}
            return reference_text(_nested(indent, inner))

        marker = written("X")
        end = " " * indent + ("- X\n" if in_sequence else "l: X\n")
        if not marker.endswith(" X\n" + end):
            return None
        prefix = marker[:-len("X\n" + end)]
        full = written(value)
        if not full.startswith(prefix) or not full.endswith(end) or \
                len(full) < len(prefix) + len(end) or \
                len(full) - len(prefix) - len(end) > MAX_VALUE_TEXT:
            return None
        return full[len(prefix):-len(end)]

    def _float(self, value: float) -> str:
        key = repr(value)
        text = self._floats.get(key)
        if text is None:
            written = reference_text({"k": value})
            if not written.startswith("k: ") or written.count("\n") != 1:
                raise _Unsupported
            text = self._floats[key] = written[len("k: "):]
        return text
