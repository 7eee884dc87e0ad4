from __future__ import annotations

from pathlib import Path

import pytest

from meshgen.errors import FleetError, Location
from meshgen.source import MAX_BYTES, load, loads


def codes(exc: pytest.ExceptionInfo[FleetError]) -> list[tuple[str, int, int]]:
    return [(p.code, p.location.line, p.location.column) for p in exc.value.problems]


def test_positions_of_keys_and_values() -> None:
    source = loads("a: 1\nlist:\n  - name: x\n    deep: {k: v}\n", "f.yaml")
    assert source.data == {"a": 1, "list": [{"name": "x", "deep": {"k": "v"}}]}
    assert source.at(("a",)) == Location("f.yaml", 1, 4)
    assert source.key_at(("list", 0, "deep")) == Location("f.yaml", 4, 5)
    assert source.at(("list", 0, "deep", "k")) == Location("f.yaml", 4, 15)
    # an unknown path falls back to its nearest located ancestor
    assert source.at(("list", 0, "missing", 3)) == Location("f.yaml", 3, 5)


def test_plain_types_only() -> None:
    data = loads("s: 'x'\ni: 3\nf: 1.5\nb: true\nn: null\nd: 2024-01-01\nyes: yes\n", "f").data
    assert data == {"s": "x", "i": 3, "f": 1.5, "b": True, "n": None, "d": "2024-01-01",
                    "yes": "yes"}
    assert type(data["s"]) is str and type(data["i"]) is int


@pytest.mark.parametrize(("text", "code", "line", "column"), [
    ("a: 1\nb: 2\na: 3\n", "MG002", 3, 1),
    ("a: [1, 2\nb: 3\n", "MG001", 2, 2),
    ("a:\n  b: 1\n c: 2\n", "MG001", 3, 2),
    ("x: &anchor {b: 1}\ny: *anchor\n", "MG003", 1, 4),
    ("a: 1\n---\nb: 2\n", "MG001", 1, 1),
    ("", "MG001", 1, 1),
    ("a:\n  b: 1\n  b: 2\n", "MG002", 3, 3),
    ("a: !secret x\n", "MG001", 1, 4),
    ("a: !!int nope\n", "MG001", 1, 4),
    ("a: " + "[" * 70 + "]" * 70 + "\n", "MG001", 1, 67),
    ('a: "\\ud800"\n', "MG001", 1, 7),
])
def test_bad_yaml_is_located(text: str, code: str, line: int, column: int) -> None:
    with pytest.raises(FleetError) as exc:
        loads(text, "f.yaml")
    assert codes(exc)[0] == (code, line, column)
    assert all(p.hint for p in exc.value.problems)


def test_merge_keys_are_refused() -> None:
    with pytest.raises(FleetError) as exc:
        loads("base: {c: 1}\nz:\n  <<: {c: 2}\n  d: 2\n", "f.yaml")
    assert ("MG003", 3, 3) in codes(exc)


def test_unreadable_large_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(FleetError) as exc:
        load(tmp_path / "missing.yaml")
    assert codes(exc)[0][0] == "MG005"
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_BYTES + 1))
    with pytest.raises(FleetError) as exc:
        load(big)
    assert codes(exc)[0][0] == "MG004"
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(FleetError) as exc:
        load(binary)
    assert codes(exc)[0][0] == "MG001"


def test_scalars_follow_yaml_1_2() -> None:
    data = loads("a: 0o17\nb: 0x1f\nc: 1_000\nd: .inf\ne: off\nf: ~\ng: !!str 12\n"
                 "h: '12'\ni: -5\n", "f").data
    assert data == {"a": 15, "b": 31, "c": 1000, "d": float("inf"), "e": "off", "f": None,
                    "g": "12", "h": "12", "i": -5}


def test_aliases_are_never_expanded() -> None:
    text = "a: &x [1, 2]\n" + "".join(f"b{i}: [*x, *x, *x]\n" for i in range(30))
    with pytest.raises(FleetError) as exc:
        loads(text, "f.yaml")
    # the one anchor is reported where it is defined; its 90 uses add nothing
    assert codes(exc) == [("MG003", 1, 4)]
