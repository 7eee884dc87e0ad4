"""The loader's fast path (positions kept as pairs, events dispatched by class, resolver
table read once) must give what the loader before it gave: the same data, positions and
problems; and the positions must be those ruamel.yaml's own composer records."""

from __future__ import annotations

from typing import Any

import source_reference  # tests/ is on sys.path (conftest)
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from meshgen.errors import FleetError
from meshgen.source import PathKey, loads

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# strings YAML resolves or quotes in awkward ways: 1.1 booleans, numbers, leading zeros,
# indicators, PEM-like blocks, unicode, the empty string
AWKWARD = st.sampled_from(["on", "no", "yes", "Off", "~", "null", "0755", "1_000", "0x1f",
                           "1e3", ".inf", "-.nan", "2024-01-01", "*", ":", "#", "- x",
                           "a: b", "<<", "=", "-----BEGIN X-----\nAAAA\n-----END X-----\n",
                           "é ü 名前", "", " lead", "trail ", "tab\there", "'", '"'])
# libyaml counts NEL, LS and PS as line breaks (YAML 1.1), ruamel.yaml's composer does not
TEXT = st.characters(exclude_categories=["Cs"], exclude_characters="\x85\u2028\u2029")
SCALARS = st.one_of(AWKWARD, st.text(TEXT, max_size=12), st.integers(-2**63, 2**63 - 1),
                    st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                    st.none())
KEYS = st.one_of(AWKWARD, st.text(TEXT, min_size=1, max_size=8))
DATA = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)), max_leaves=25)


def _dump(data: Any, flow: bool | None) -> str:
    # libyaml's emitter: what it writes, libyaml parses
    return str(yaml.dump({"root": data}, Dumper=yaml.CSafeDumper, default_flow_style=flow,
                         allow_unicode=True))


def _key_text(key: Any) -> str:
    """A mapping key as the loader stores it (keys that are no strings become text)."""
    return "" if key is None else str(key).lower() if isinstance(key, bool) else str(key)


def _text_keys(data: Any) -> Any:
    if isinstance(data, dict):
        return {_key_text(k): _text_keys(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_text_keys(v) for v in data]
    return data


def _marks(node: Node, data: Any, path: PathKey, values: dict[PathKey, tuple[int, int]],
           keys: dict[PathKey, tuple[int, int]]) -> None:
    """Every node's position as ruamel.yaml's composer records it (data: the same
    document as ruamel.yaml constructs it, for the keys' values)."""
    if isinstance(node, MappingNode):
        for (key, value), item in zip(node.value, data.items(), strict=True):
            here = (*path, _key_text(item[0]))
            keys[here] = (key.start_mark.line + 1, key.start_mark.column + 1)
            values[here] = (value.start_mark.line + 1, value.start_mark.column + 1)
            _marks(value, item[1], here, values, keys)
    elif isinstance(node, SequenceNode):
        for index, (value, item) in enumerate(zip(node.value, data, strict=True)):
            values[(*path, index)] = (value.start_mark.line + 1, value.start_mark.column + 1)
            _marks(value, item, (*path, index), values, keys)


def _outcome(text: str, loader: Any = loads) -> Any:
    try:
        source = loader(text, "f.yaml")
    except FleetError as exc:
        return [(p.code, p.message, str(p.location), p.hint) for p in exc.problems]
    return (repr(source.data), dict(source.values.items()), dict(source.keys.items()))


@SETTINGS
@given(data=DATA, flow=st.sampled_from([None, True, False]))
def test_data_and_positions_match_ruamel(data: Any, flow: bool | None) -> None:
    text = _dump(data, flow)
    source = loads(text, "f.yaml")
    expected = YAML(typ="safe", pure=True).load(text)
    assert repr(source.data) == repr(_text_keys(expected))
    values: dict[PathKey, tuple[int, int]] = {}
    keys: dict[PathKey, tuple[int, int]] = {}
    _marks(YAML().compose(text), expected, (), values, keys)
    assert {k: (v.line, v.column) for k, v in source.values.items() if k} == values
    assert {k: (v.line, v.column) for k, v in source.keys.items()} == keys


# fragments that make valid, refused and broken YAML when spliced into a document
FRAGMENTS = st.sampled_from(["&a ", "*a", "<<: ", "!t ", "!!int ", "? ", "- ", ": ", "\n",
                             "\n  ", "{", "}", "[", "]", ",", '"', "'", "#", "%YAML 1.1\n",
                             "---\n", "...\n", "\t", "\x07", "\\ud800", "k: v\n", "k: v\n"])


@SETTINGS
@given(data=DATA, splices=st.lists(st.tuples(st.integers(0, 10_000), FRAGMENTS),
                                   max_size=3))
def test_same_outcome_as_the_loader_before(data: Any,
                                             splices: list[tuple[int, str]]) -> None:
    text = _dump(data, None)
    for at, fragment in splices:
        at %= len(text) + 1
        text = text[:at] + fragment + text[at:]
    assert _outcome(text) == _outcome(text, source_reference.loads)
