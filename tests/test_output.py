from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshgen import output, swap
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
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    note = (b"# The files this fleet wrote in this directory, one a line: meshgen overwrites "
            b"and prunes only these.\n")
    assert (out / "a" / output.INVENTORY).read_bytes() == GEN + note + b"kustomization_yaml\n"
    assert (out / "b" / output.INVENTORY).read_bytes() == GEN + note + b"x/y_yaml\n"
    output.write_tree(out, files(a__kustomization_yaml="a", b__x__y_yaml="b", top="t"))
    assert (out / output.INVENTORY).read_bytes() == GEN + note + b"top\n"
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


def test_files_meshgen_did_not_write_keep_their_inode_across_a_swap(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_tree(out, files(a="1"))
    (out / "notes").mkdir()
    (out / "notes" / "mine.md").write_text("mine\n")
    (out / "empty").mkdir()
    inode = (out / "notes" / "mine.md").stat().st_ino
    output.write_tree(out, files(a="2", b="3"))
    assert (out / "notes" / "mine.md").stat().st_ino == inode
    assert (out / "empty").is_dir()


def test_a_build_killed_after_the_swap_leaves_the_new_tree_and_nothing_to_finish(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    output.write_tree(out, files(a="1", b="2"))

    def die(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "rmtree", die)  # dies while removing the old tree
    with pytest.raises(KeyboardInterrupt):
        output.write_tree(out, files(a="new", c="3"))
    monkeypatch.undo()
    assert {k: v[0] for k, v in snapshot(out).items() if k != output.INVENTORY} == \
        files(a="new", c="3")
    assert len(list(tmp_path.iterdir())) > 1  # the old tree, beside out
    again = output.write_tree(out, files(a="new", c="3"))
    assert not again.changed and sorted(again.unchanged) == ["a", "c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_without_an_atomic_exchange_two_renames_and_a_restore(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    output.write_tree(out, files(a="1"))
    monkeypatch.setattr(swap, "_RENAMEAT2", None)
    output.write_tree(out, files(a="2"))
    assert (out / "a").read_bytes() == GEN + b"2"
    real_rename = os.rename

    def die_between(src: str | Path, dst: str | Path) -> None:
        if Path(src).name.startswith(".out.meshgen-stage-"):
            raise KeyboardInterrupt  # the old tree is moved away, the new one not yet in
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", die_between)
    with pytest.raises(KeyboardInterrupt):
        output.write_tree(out, files(a="3"))
    monkeypatch.setattr(os, "rename", real_rename)
    assert not out.exists()
    diff = output.write_tree(out, files(a="2"))  # the next build puts the old tree back first
    assert diff.unchanged == ["a"] and (out / "a").read_bytes() == GEN + b"2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_stale_file_may_become_a_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_tree(out, files(a="1"))
    diff = output.write_tree(out, files(a__b="2"))
    assert diff.stale == ["a"] and diff.added == ["a/b"]
    assert (out / "a" / "b").read_bytes() == GEN + b"2"


def _pure_posix_verdict(rel: str) -> bool:
    """The rules safe_relative had as PurePosixPath checks (plus reserved names at any
    depth, for the inventories of directories): True when the path is refused."""
    import re
    from pathlib import PurePosixPath
    path = PurePosixPath(rel)
    return (path.as_posix() != rel or path.is_absolute() or "\\" in rel or not path.parts
            or any(p in ("", ".", "..") for p in path.parts)
            or any(p.startswith(".meshgen-") for p in path.parts)
            or re.search("[\x00-\x1f\x7f]", rel) is not None)


@pytest.mark.parametrize("rel", [
    "", ".", "..", "/", "//", "//a", "///a", "a/", "a//b", "./a", "a/.", "a/./b", "a/..",
    "a/../b", "..a", "a..", ".a", "a/.b", "...", "a\\b", "\\", "a/b\x00", "a\tb", "a\nb",
    "a\x7f", ".meshgen-x", ".meshgen-", "a/.meshgen-x", ".meshgen", "é/ü.yaml", " ", "a /b",
    "east/kustomization.yaml", "delivery/argocd/applicationset.yaml", "~", "a/~/b", "-", "*",
    "a\n", "..\n", "a/\n", "/a/b", "a/b/", "a/...", "a/.../b", "a/.x/b", "a.meshgen-x",
    "a/x.meshgen-inventory", ".meshgen-inventory", "a/.meshgen-inventory"])
def test_the_fast_path_check_gives_the_verdicts_of_pure_posix_path(rel: str) -> None:
    from meshgen.outtree import safe_relative
    try:
        safe_relative(rel)
        refused = False
    except output.OutputError:
        refused = True
    assert refused == _pure_posix_verdict(rel)


@given(st.lists(st.sampled_from(["a", "b", ".", "/", "\\", "\x00", "\x1f", "\x7f", "\n", "é",
                                 "\u200b", "-", ".meshgen-", "meshgen"]), max_size=10)
       .map("".join))
@settings(max_examples=3000, deadline=None)
def test_safe_relative_agrees_with_pure_posix_path_on_any_path(rel: str) -> None:
    """The plain-string fast path and the regular expression behind it give the verdicts of
    the PurePosixPath rules on any mix of the characters that matter."""
    from meshgen.outtree import safe_relative
    try:
        safe_relative(rel)
        refused = False
    except output.OutputError:
        refused = True
    assert refused == _pure_posix_verdict(rel), rel
