"""write_tree's settled directories: top-level directories the caller proved untouched
are never looked into, and the result is the one of a write that looks at everything."""

from __future__ import annotations

import os
import shutil
import stat
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from meshgen import output
from meshgen.emit import header
from meshgen.outtree import Stat, stat_record

GEN = header("fleet.yaml").encode()
NOTE = (b"# The files this fleet wrote in this directory, one a line: meshgen overwrites "
        b"and prunes only these.\n")
INVENTORY = output.INVENTORY
DIRS = ("a", "b", "c", "d")


OLD = {f"{d}/{name}": GEN + f"{d} {name}\n".encode()
       for d in DIRS for name in ("kustomization.yaml", "ns/x.yaml", "ns/old.yaml")}
# only b/ changes: one file modified, one added, one removed
NEW = {**{k: v for k, v in OLD.items() if k != "b/ns/old.yaml"},
       "b/ns/x.yaml": GEN + b"bx changed\n", "b/ns/new.yaml": GEN + b"bn\n"}
SETTLED = ("a", "c", "d")


def entries(out: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every entry under out, links not followed: what it is and what it holds."""
    found: dict[str, tuple[str, bytes | str]] = {}
    for folder, dirs, names in os.walk(out):
        for name in dirs + names:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, out)
            mode = os.lstat(path).st_mode
            found[rel] = ("link", os.readlink(path)) if stat.S_ISLNK(mode) else \
                ("dir", "") if stat.S_ISDIR(mode) else \
                ("file", Path(path).read_bytes()) if stat.S_ISREG(mode) else ("other", "")
    return dict(sorted(found.items()))


def stamps(out: Path) -> dict[str, tuple[int, int, int]]:
    found = {}
    for folder, dirs, names in os.walk(out):
        for name in [*dirs, *names, "."]:
            info = os.lstat(os.path.join(folder, name))
            rel = os.path.normpath(os.path.relpath(os.path.join(folder, name), out))
            found[rel] = (info.st_ino, info.st_mtime_ns, info.st_ctime_ns)
    return dict(sorted(found.items()))


def in_settled(rel: str) -> bool:
    return rel.partition("/")[0] in SETTLED


def records(out: Path, paths: list[str]) -> dict[str, Stat | None]:
    return {rel: stat_record(os.lstat(out / rel)) for rel in paths}


def built(tmp_path: Path, files: dict[str, bytes] = OLD) -> Path:
    out = tmp_path / "out"
    output.write_tree(out, files)
    time.sleep(0.02)  # past the clock tick: a rewritten or relinked file gets a new ctime
    return out


def twin(out: Path) -> Path:
    copy = out.parent / "twin"
    shutil.copytree(out, copy, symlinks=True)
    return copy


def the_same(a: output.TreeDiff, b: output.TreeDiff) -> None:
    assert (a.added, a.modified, a.stale, a.unchanged, a.inventories, a.staged) == \
        (b.added, b.modified, b.stale, b.unchanged, b.inventories, b.staged)


@pytest.mark.parametrize("as_records", [False, True])
def test_a_settled_write_is_the_write_that_looks_at_everything(
        tmp_path: Path, as_records: bool) -> None:
    out = built(tmp_path)
    copy = twin(out)
    reused = sorted(rel for rel in NEW if in_settled(rel))
    files = {rel: data for rel, data in NEW.items() if not in_settled(rel)}
    before = stamps(out)
    vouched = records(out, reused) if as_records else reused
    settled = output.write_tree(out, files, reused=vouched, settled=SETTLED)
    whole = output.write_tree(copy, files, reused=reused)
    the_same(settled, whole)
    assert (settled.modified, settled.added, settled.stale) == (
        ["b/ns/x.yaml"], ["b/ns/new.yaml"], ["b/ns/old.yaml"])
    assert settled.inventories == [f"b/{INVENTORY}"] and settled.staged == "b"
    assert len(settled.unchanged) == len(NEW) - 2
    assert entries(out) == entries(copy)
    assert {k: v for k, v in entries(out).items() if v[0] == "file" and
            not k.endswith(INVENTORY)} == {k: ("file", v) for k, v in NEW.items()}
    after = stamps(out)
    kept = {rel for rel in before if in_settled(rel) or rel in SETTLED}
    assert {rel: after[rel] for rel in kept} == {rel: before[rel] for rel in kept}
    assert output.compare(out, files, reused, settled=SETTLED).changed is False


def test_compare_with_settled_directories_says_what_the_write_does(tmp_path: Path) -> None:
    out = built(tmp_path)
    reused = [rel for rel in NEW if in_settled(rel)]
    files = {rel: data for rel, data in NEW.items() if not in_settled(rel)}
    the_same(output.compare(out, files, reused, SETTLED), output.compare(out, files, reused))


def private_key_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


_SEEN: list[tuple[str, str]] = []
_RECORDING: list[bool] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _RECORDING and event in ("open", "os.scandir", "os.listdir") and args and \
            isinstance(args[0], (str, bytes, os.PathLike)):
        _SEEN.append((event, os.path.abspath(os.fsdecode(args[0]))))


def test_settled_directories_are_not_looked_into(tmp_path: Path) -> None:
    """What the caller's proof rules out (a symlink, a FIFO, a private key, a file of
    another fleet) is refused by a write that looks, and left alone by one told not to:
    nothing under a settled directory is listed or opened."""
    out = built(tmp_path)
    copy = twin(out)
    (tmp_path / "elsewhere").write_text("not in the tree\n")
    key = private_key_pem()
    for tree in (out, copy):
        os.symlink(tmp_path / "elsewhere", tree / "a" / "ns" / "link.yaml")
        os.mkfifo(tree / "c" / "pipe")
        (tree / "d" / "ns" / "key.pem").write_bytes(key)
        (tree / "d" / "ns" / "x.yaml").write_bytes(GEN + b"edited behind the proof\n")
    reused = [rel for rel in NEW if in_settled(rel)]
    files = {rel: data for rel, data in NEW.items() if not in_settled(rel)}
    with pytest.raises(output.OutputError) as refused:
        output.write_tree(copy, files, reused=reused)
    assert [p.code for p in refused.value.problems] == ["MG095", "MG095"]
    (copy / "a" / "ns" / "link.yaml").unlink()
    (copy / "c" / "pipe").unlink()
    with pytest.raises(output.OutputError) as refused:
        output.write_tree(copy, files, reused=reused)
    assert [p.code for p in refused.value.problems] == ["MG097"]
    before = {rel: entry for rel, entry in entries(out).items() if in_settled(rel)}
    sys.addaudithook(_audit)  # stays for the process; records only while the flag is set
    _SEEN.clear()
    _RECORDING.append(True)
    try:
        diff = output.write_tree(out, files, reused=reused, settled=SETTLED)
    finally:
        _RECORDING.clear()
    assert diff.modified == ["b/ns/x.yaml"] and diff.staged == "b"
    root = os.path.realpath(out)
    looked = sorted({(event, os.path.relpath(path, root)) for event, path in _SEEN
                     if path.startswith(root + "/")})
    assert looked and all(not in_settled(rel) and rel not in SETTLED for _, rel in looked)
    assert {rel: entry for rel, entry in entries(out).items() if in_settled(rel)} == before


@pytest.mark.parametrize("replace", ["removed", "symlink", "file"])
def test_a_settled_directory_that_is_no_longer_one_stops_the_write(
        tmp_path: Path, replace: str) -> None:
    out = built(tmp_path)
    shutil.move(out / "c", tmp_path / "c-moved")
    if replace == "symlink":
        os.symlink(tmp_path / "c-moved", out / "c")
    elif replace == "file":
        (out / "c").write_bytes(GEN)
    before = stamps(out)
    reused = [rel for rel in NEW if in_settled(rel)]
    with pytest.raises(output.ReusedChanged, match=r"settled directories.*\['c'\]"):
        output.write_tree(out, {rel: data for rel, data in NEW.items()
                                if not in_settled(rel)}, reused=reused, settled=SETTLED)
    assert stamps(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c-moved", "elsewhere", "out"] \
        if (tmp_path / "elsewhere").exists() else ["c-moved", "out"]


@pytest.mark.parametrize("settled", [[""], ["a/ns"], [".."], ["."], [".meshgen-x"],
                                     ["a\n"], "a"])
def test_a_settled_name_that_is_no_directory_name_is_a_programming_error(
        tmp_path: Path, settled: list[str] | str) -> None:
    out = built(tmp_path)
    before = stamps(out)
    with pytest.raises(ValueError, match=r"top-level directory|not one string"):
        output.write_tree(out, NEW, settled=settled)
    assert stamps(out) == before


@pytest.mark.parametrize("files", [NEW, {"b/ns/x.yaml": GEN, "c": GEN}])
def test_files_to_write_inside_a_settled_directory_are_a_programming_error(
        tmp_path: Path, files: dict[str, bytes]) -> None:
    out = built(tmp_path)
    before = stamps(out)
    with pytest.raises(ValueError, match="inside settled directories"):
        output.write_tree(out, files, settled=SETTLED)
    with pytest.raises(ValueError, match="inside settled directories"):
        output.compare(out, {}, reused=["c"], settled=SETTLED)
    assert stamps(out) == before


@pytest.mark.parametrize("change", ["two directories", "a file at the top"])
def test_a_change_the_root_must_hold_looks_at_everything(
        tmp_path: Path, change: str) -> None:
    """Staging the whole tree links every file into it: settled cannot hold, the write
    surveys the whole tree (a FIFO in a settled directory is found) and does what a write
    without settled does."""
    out = built(tmp_path)
    files = dict(NEW)
    if change == "two directories":
        files["c/ns/x.yaml"] = GEN + b"c changed\n"
        settled: tuple[str, ...] = ("a", "d")
    else:
        files["top.yaml"] = GEN + b"top\n"
        settled = SETTLED
    copy = twin(out)
    reused = sorted(rel for rel in files if rel.partition("/")[0] in settled)
    written = {rel: data for rel, data in files.items() if rel not in reused}
    the_same(output.write_tree(out, written, reused=reused, settled=settled),
             output.write_tree(copy, written, reused=reused))
    assert entries(out) == entries(copy)
    os.mkfifo(out / "a" / "pipe")
    written["b/ns/x.yaml"] = GEN + b"b changed again\n"
    written["c/ns/x.yaml" if "c" not in settled else "top.yaml"] = GEN + b"again\n"
    with pytest.raises(output.OutputError) as refused:
        output.write_tree(out, written, reused=reused, settled=settled)
    assert [p.code for p in refused.value.problems] == ["MG095"]


def test_a_root_inventory_listing_settled_files_looks_at_everything(
        tmp_path: Path) -> None:
    """Output of the one-inventory format: the build moves the listing of the settled
    directories into their own inventories, so it looks at them."""
    out = built(tmp_path)
    for inventory in out.glob(f"*/{INVENTORY}"):
        inventory.unlink()
    (out / INVENTORY).write_bytes(GEN + NOTE + b"".join(f"{r}\n".encode() for r in sorted(OLD)))
    copy = twin(out)
    reused = sorted(rel for rel in NEW if in_settled(rel))
    files = {rel: data for rel, data in NEW.items() if not in_settled(rel)}
    the_same(output.compare(out, files, reused, SETTLED), output.compare(out, files, reused))
    diff = output.write_tree(out, files, reused=reused, settled=SETTLED)
    the_same(diff, output.write_tree(copy, files, reused=reused))
    assert diff.inventories == [INVENTORY, *(f"{d}/{INVENTORY}" for d in DIRS)]
    assert entries(out) == entries(copy)


def test_stale_files_outside_are_pruned_and_settled_ones_never(tmp_path: Path) -> None:
    out = built(tmp_path)
    before = stamps(out)
    # the caller vouches for a/, c/, d/ with all their files; b/ loses two of its own
    reused = sorted(rel for rel in OLD if in_settled(rel))
    diff = output.write_tree(out, {"b/kustomization.yaml": OLD["b/kustomization.yaml"]},
                             reused=reused, settled=SETTLED)
    assert diff.stale == ["b/ns/old.yaml", "b/ns/x.yaml"]
    assert diff.inventories == [f"b/{INVENTORY}"] and diff.staged == "b"
    assert sorted(os.listdir(out / "b")) == [INVENTORY, "kustomization.yaml"]
    after = stamps(out)
    kept = [rel for rel in before if in_settled(rel) or rel in SETTLED]
    assert len(kept) == 3 * 6  # each: the directory, ns/, three files, the inventory
    assert {rel: after[rel] for rel in kept} == {rel: before[rel] for rel in kept}
    assert output.generated_files(out) == set(reused) | {"b/kustomization.yaml"}


def test_a_build_that_writes_nothing_itself_takes_its_header_from_a_look(
        tmp_path: Path) -> None:
    """Without files to write, the header is that of the reused files' inventories: when
    only settled ones hold it, the write looks at them (nothing changes here)."""
    out = built(tmp_path)
    before = stamps(out)
    diff = output.write_tree(out, {}, reused=sorted(OLD), settled=DIRS)
    assert not diff.changed and diff.unchanged == sorted(OLD)
    assert stamps(out) == before


def test_another_fleets_inventory_is_refused_when_only_settled_ones_name_the_header(
        tmp_path: Path) -> None:
    """The header that tells this fleet's inventories from another's is looked up in a
    settled directory when the build writes nothing itself: b/ of another fleet is
    refused (MG096), not pruned."""
    out = built(tmp_path)
    theirs = header("theirs.yaml").encode()
    for rel in [rel for rel in OLD if rel.startswith("b/")]:
        (out / rel).write_bytes(theirs + b"theirs\n")
    listed = sorted(rel.removeprefix("b/") for rel in OLD if rel.startswith("b/"))
    (out / "b" / INVENTORY).write_bytes(theirs + NOTE + "".join(
        f"{rel}\n" for rel in listed).encode())
    (out / "b" / "notes.md").write_text("b/ would not empty (and be staged whole)\n")
    before = stamps(out)
    with pytest.raises(output.OutputError) as refused:
        output.write_tree(out, {}, reused=sorted(rel for rel in OLD if in_settled(rel)),
                          settled=SETTLED)
    assert [(p.code, p.where) for p in refused.value.problems] == [
        ("MG096", str(out / "b" / INVENTORY))]
    assert stamps(out) == before
