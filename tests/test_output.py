from __future__ import annotations

import os
from pathlib import Path

import pytest

from meshgen import output
from meshgen.emit import header

GEN = header("fleet.yaml").encode()


def snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(out).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(out.rglob("*")) if p.is_file()}


def files(**contents: str) -> dict[str, bytes]:
    return {k.replace("__", "/"): GEN + v.encode() for k, v in contents.items()}


def test_first_build_writes_everything(tmp_path: Path) -> None:
    out = tmp_path / "out"
    diff = output.write_tree(out, files(a__kustomization_yaml="a", b__x__y_yaml="b"))
    assert sorted(diff.added) == ["a/kustomization_yaml", "b/x/y_yaml"]
    assert (out / "b/x/y_yaml").read_bytes() == GEN + b"b"
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [output.INVENTORY]
    assert (out / output.INVENTORY).read_bytes() == (
        GEN + b"# The files this fleet wrote in this directory, one a line: meshgen overwrites "
        b"and prunes only these.\na/kustomization_yaml\nb/x/y_yaml\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no lock, no stage left


def test_unchanged_files_keep_bytes_and_mtime(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_tree(out, files(a="1", b="2"))
    os.utime(out / "a", ns=(1_000_000_000, 1_000_000_000))
    before = snapshot(out)
    inode = (out / "a").stat().st_ino
    diff = output.write_tree(out, files(a="1", b="3"))
    after = snapshot(out)
    assert diff.modified == ["b"] and diff.unchanged == ["a"]
    assert after["a"] == before["a"]
    assert (out / "a").stat().st_ino == inode
    assert after["b"][0] == GEN + b"3"


def test_prunes_only_generated_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_tree(out, files(keep="1", old__gone="2"))
    (out / "old" / "notes.md").write_text("mine")
    (out / "user.yaml").write_text("# my own file\n")
    diff = output.write_tree(out, files(keep="1"))
    assert diff.stale == ["old/gone"]
    assert not (out / "old" / "gone").exists()
    assert (out / "old" / "notes.md").read_text() == "mine"
    assert (out / "user.yaml").exists()


def test_empty_directories_left_by_pruning_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_tree(out, files(keep="1", a__b__c="2"))
    output.write_tree(out, files(keep="1"))
    assert not (out / "a").exists()


def test_never_overwrites_a_file_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a").write_text("hand written\n")
    with pytest.raises(output.OutputError, match="not written by this fleet"):
        output.write_tree(out, files(a="1"))
    assert (out / "a").read_text() == "hand written\n"


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../../x", "a//b", ".", "a\\b",
                                 ".meshgen-journal", ".meshgen-stage-1/x"])
def test_paths_that_would_escape_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(output.OutputError):
        output.write_tree(tmp_path / "out", {bad: GEN})
    assert not (tmp_path / "x").exists()


def test_interrupted_before_the_swap_leaves_previous_tree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    output.write_tree(out, files(a="1", b="2"))
    before = snapshot(out)

    def crash(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(output, "replace_tree", crash)
    with pytest.raises(KeyboardInterrupt):
        output.write_tree(out, files(a="changed", c="3"))
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_compare_reports_each_kind_of_difference(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_tree(out, files(same="1", changed="2", stale="3"))
    diff = output.compare(out, files(same="1", changed="x", new="4"))
    assert (diff.added, diff.modified, diff.stale, diff.unchanged) == (
        ["new"], ["changed"], ["stale"], ["same"])
