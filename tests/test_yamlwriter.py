"""The fast YAML writer against the reference emitter (PyYAML + libyaml): same text for
any object, and the reference is asked for what the writer cannot place itself."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from meshgen.ca import certificate_pem, make_certificate
from meshgen.emit_reference import reference_text
from meshgen.yamlwriter import MAX_STRING, YamlWriter

PEM = certificate_pem(make_certificate("yamlwriter root")[0])

AWKWARD = [
    # YAML 1.1 booleans and nulls, any case
    "on", "On", "ON", "off", "Off", "no", "No", "NO", "yes", "Yes", "y", "Y", "n", "N",
    "true", "True", "FALSE", "null", "Null", "NULL", "~", "",
    # numbers as strings
    "1e3", "1E3", "1.0e+3", "0x1F", "0o7", "0b101", "1_000", ".inf", "-.Inf", ".NaN", "010",
    "0", "-0", "+1", "3.14", "1:20", "190:20:30", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
    "00123", "1.", ".5", "=", "<<",
    # indicators and other awkward text
    "*", "*a", "&a", "!a", "!!str", ":", "a:", "a: b", "a:b", "#", "a #b", "a#b", "- ", "-",
    "-a", "--", "---", "...", "? ", "?", "?a", "%", "%YAML", "@", "`a`", "|", ">", "'", '"',
    "'a'", '"a"', "[a]", "{a: b}", ",", "a,b", " a", "a ", " ", "\t", "a\tb", "\ta",
    "a\\b", "http://x/y?z=1&w", "*.example.com", "*/*",
    # unicode, line separators, control characters
    "é", "日本語", "😀", "a😀b", "\U0001f600", "\x85", "a\x85b", "\u2028", "a\u2029b",
    "\ufeff", "\x00", "\x07", "\x1b[0m", "\x7f", "\x9f", "\ud7ff", "\ue000", "\ufffe",
    # line breaks: PEM as a literal block, and the odd ones
    PEM, PEM.rstrip("\n"), PEM + "\n", PEM + PEM, "a\nb", "a\n", "a\n\n", "\n", "\na",
    "a\nb\n\n", " a\nb", "a \nb", "a\n b", "a\r\nb", "a\rb", "a\n\tb", "#a\nb", "a\n\n\nb",
    "x" * 200, "a " * 100, "word " * 5000,
]

text_strings = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=40),
                         st.text(alphabet="ab :#-'\"\n\\\t\x85\u2028é😀", max_size=12))
scalars = st.one_of(
    text_strings, st.none(), st.booleans(), st.integers(),
    st.floats(allow_nan=True, allow_infinity=True), st.just(-0.0), st.just(1e16),
)
keys = st.one_of(st.sampled_from(["apiVersion", "kind", "metadata", "name", "namespace",
                                  "spec", "data", "a", "b"]), text_strings)
objects = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)


@given(st.dictionaries(keys, objects, max_size=6))
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example({"data": {"ca.crt": PEM, "list": [PEM, [PEM, {"k": PEM}]]}})
@example({"k": "a\nb\n\n", "z": 1})
@example({"x" * 200: -0.0, "y" * 129: "x" * 129})
# ten columns per character once escaped: the reference folds this at its line width
@example({"metadata": {"annotations": {"example.com/note": "\U000e0001" * 6552 + " b"}}})
@example({"\U000e0001" * 1000: "\U000e0001" * 6000 + " b"})
def test_writer_matches_reference(obj: dict[str, Any]) -> None:
    assert YamlWriter().text(obj) == reference_text(obj)


def test_one_writer_for_many_documents_matches_reference() -> None:
    """What a writer remembers from one document does not leak into the next."""
    writer = YamlWriter()
    documents = [{"k": value, "l": [value, {"m": [value]}], value: [{value: value}]}
                 for value in AWKWARD if len(value) < 1000] * 2
    assert [writer.text(d) for d in documents] == [reference_text(d) for d in documents]


def test_what_the_writer_cannot_place_goes_to_the_reference() -> None:
    writer = YamlWriter()
    unplaceable: list[Any] = [
        {"k": "x" * (MAX_STRING + 1)},   # could be folded at the line width
        {1: "a"},                        # not a string key
        {"k": ("a",)},                   # a type the canonical form does not know
        {"k": "a\nb\n\n"},               # a keep-chomped block leaves the document open
        {"a\nb": 1},                     # a multi-line (complex) key
        ["a"], {},
    ]
    for count, obj in enumerate(unplaceable, start=1):
        try:
            expected: str | type[Exception] = reference_text(obj)
        except Exception as exc:  # the reference's own refusal
            expected = type(exc)
        try:
            assert writer.text(obj) == expected
        except Exception as exc:
            assert type(exc) is expected
        assert writer.fallbacks == count
    writer.text({"k": PEM, "l": ["on", "1e3", "*"]})
    assert writer.fallbacks == len(unplaceable)
