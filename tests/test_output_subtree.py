"""The write path costs what changed: per-directory inventories, one exchange of the
smallest directory holding every change, files the caller vouches for left unopened;
and the guarantees of the whole-tree swap (old or new tree, pruning, ownership) kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meshgen import output, swap
from meshgen.emit import header

GEN = header("fleet.yaml").encode()
NOTE = (b"# The files this fleet wrote in this directory, one a line: meshgen overwrites "
        b"and prunes only these.\n")
INVENTORY = output.INVENTORY


def fleet(**contents: str) -> dict[str, bytes]:
    return {k.replace("__", "/"): GEN + v.encode() for k, v in contents.items()}


OLD = fleet(a__kustomization_yaml="a", a__ns__x_yaml="ax", b__kustomization_yaml="b",
            b__ns__x_yaml="bx", b__ns__old_yaml="bo", c__kustomization_yaml="c")
NEW = {**{k: v for k, v in OLD.items() if k != "b/ns/old_yaml"},
       **fleet(b__ns__x_yaml="bx changed", b__ns__new_yaml="bn")}


def on_disk(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file()}


def stamps(out: Path) -> dict[str, tuple[int, int, int]]:
    found = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            info = path.stat()
            found[path.relative_to(out).as_posix()] = (
                info.st_ino, info.st_mtime_ns, info.st_ctime_ns)
    return found


def test_a_change_in_one_directory_touches_nothing_outside_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_tree(out, {**OLD, **fleet(top="t")})
    (out / "notes.md").write_text("mine\n")
    before = stamps(out)
    time.sleep(0.05)  # past the file system's clock tick: a relinked file gets a new ctime
    diff = output.write_tree(out, {**NEW, **fleet(top="t")})
    after = stamps(out)
    outside = {rel for rel in before if not rel.startswith("b/")}
    assert outside == {rel for rel in after if not rel.startswith("b/")}
    assert {rel: after[rel] for rel in outside} == {rel: before[rel] for rel in outside}
    assert (diff.modified, diff.added, diff.stale) == (
        ["b/ns/x_yaml"], ["b/ns/new_yaml"], ["b/ns/old_yaml"])
    assert diff.inventories == [f"b/{INVENTORY}"]
    # inside b/ the unchanged file is the same inode (a hard link), with its mtime
    assert after["b/kustomization_yaml"][:2] == before["b/kustomization_yaml"][:2]
    assert {k: v for k, v in on_disk(out).items() if INVENTORY not in k} == {
        **NEW, **fleet(top="t"), "notes.md": b"mine\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_inventories_live_in_each_top_level_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_tree(out, NEW)
    assert not (out / INVENTORY).exists()
    assert (out / "b" / INVENTORY).read_bytes() == \
        GEN + NOTE + b"kustomization_yaml\nns/new_yaml\nns/x_yaml\n"
    assert output.generated_files(out) == set(NEW)


def test_a_removed_directory_is_pruned(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_tree(out, OLD)
    (out / "a" / "mine.md").write_text("mine\n")
    gone = {k: v for k, v in OLD.items() if not k.startswith("a/")}
    diff = output.write_tree(out, gone)
    assert sorted(diff.stale) == ["a/kustomization_yaml", "a/ns/x_yaml"]
    assert diff.inventories == [f"a/{INVENTORY}"]
    assert sorted(os.listdir(out / "a")) == ["mine.md"]
    diff = output.write_tree(out, {k: v for k, v in gone.items() if not k.startswith("b/")})
    assert not (out / "b").exists() and (out / "c" / INVENTORY).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_output_of_the_one_inventory_format_is_taken_over_in_one_build(
        tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_tree(out, OLD)
    for inventory in out.glob(f"*/{INVENTORY}"):
        inventory.unlink()  # what meshgen wrote before: one inventory at the root
    (out / INVENTORY).write_bytes(GEN + NOTE + b"".join(f"{r}\n".encode() for r in sorted(OLD)))
    (out / "b" / "ns" / "copy.yaml").write_bytes(GEN + b"copied\n")  # not listed: not ours
    assert output.generated_files(out) == set(OLD)
    inode = (out / "c" / "kustomization_yaml").stat().st_ino
    diff = output.write_tree(out, NEW)
    assert diff.stale == ["b/ns/old_yaml"]
    assert diff.inventories == [INVENTORY, *(f"{d}/{INVENTORY}" for d in "abc")]
    assert not (out / INVENTORY).exists()
    assert (out / "b" / "ns" / "copy.yaml").exists()
    assert (out / "c" / "kustomization_yaml").stat().st_ino == inode
    assert not output.write_tree(out, NEW).changed


def test_a_planted_inventory_of_another_fleet_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_tree(out, OLD)
    theirs = header("theirs.yaml").encode()
    (out / "b" / INVENTORY).write_bytes(theirs + NOTE + b"kustomization_yaml\n")
    before = on_disk(out)
    with pytest.raises(output.OutputError) as refused:
        output.write_tree(out, NEW)
    assert [(p.code, p.where) for p in refused.value.problems] == [
        ("MG096", str(out / "b" / INVENTORY))]
    assert "another fleet (theirs.yaml)" in str(refused.value)
    assert on_disk(out) == before


def test_an_inventory_cannot_name_what_lies_outside_its_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_tree(out, OLD)
    (out / "b" / INVENTORY).write_bytes(GEN + NOTE + b"../a/kustomization_yaml\n")
    with pytest.raises(output.OutputError) as refused:
        output.write_tree(out, NEW)
    assert refused.value.problems[0].code == "MG096"
    assert (out / "a" / "kustomization_yaml").exists()


def test_a_generated_file_may_not_take_an_inventory_name(tmp_path: Path) -> None:
    with pytest.raises(output.OutputError, match="reserves"):
        output.write_tree(tmp_path / "out", {f"a/{INVENTORY}": GEN})
    assert not (tmp_path / "out").exists()


_OPENED: list[str] = []
_RECORDING: list[bool] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _RECORDING and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPENED.append(os.path.realpath(os.fsdecode(args[0])))


def test_reused_files_are_never_opened(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_tree(out, OLD)
    sys.addaudithook(_audit)  # stays for the process; records only while the flag is set
    changed = {"b/ns/x_yaml": NEW["b/ns/x_yaml"], "a/ns/x_yaml": OLD["a/ns/x_yaml"]}
    reused = set(OLD) - changed.keys()
    _OPENED.clear()
    _RECORDING.append(True)
    try:
        diff = output.write_tree(out, changed, reused=reused)
    finally:
        _RECORDING.clear()
    root = os.path.realpath(out)
    opened = {os.path.relpath(p, root) for p in _OPENED if p.startswith(root + "/")}
    assert opened & reused == set()
    assert "a/ns/x_yaml" in opened  # compared, as files in `files` are
    assert diff.modified == ["b/ns/x_yaml"]
    assert diff.unchanged == sorted(reused | {"a/ns/x_yaml"})
    assert diff.stale == [] and diff.inventories == []
    assert output.generated_files(out) == set(OLD)
    assert (out / "b" / "ns" / "x_yaml").read_bytes() == NEW["b/ns/x_yaml"]


def test_reused_files_count_in_the_inventory_and_stale_ones_are_pruned(
        tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_tree(out, OLD)
    reused = {k for k in OLD if k.startswith("a/")}
    diff = output.write_tree(out, {"b/kustomization_yaml": OLD["b/kustomization_yaml"]},
                             reused=reused)
    assert sorted(diff.stale) == ["b/ns/old_yaml", "b/ns/x_yaml", "c/kustomization_yaml"]
    assert output.generated_files(out) == reused | {"b/kustomization_yaml"}
    assert not output.write_tree(out, {}, reused=reused | {"b/kustomization_yaml"}).changed


@pytest.mark.parametrize(("reused", "error"), [({"b/ns/x_yaml"}, ValueError),
                                               ({"b/ns/missing"}, output.ReusedChanged),
                                               ({"b/ns"}, output.ReusedChanged)])
def test_a_reused_path_that_is_written_or_absent_is_refused(
        tmp_path: Path, reused: set[str], error: type[Exception]) -> None:
    """Also among the files to write: a programming error; absent, unlisted or with other
    stats than proven: the tree changed during the build (the caller builds again)."""
    out = tmp_path / "out"
    output.write_tree(out, OLD)
    (out / "b" / "ns" / "mine.yaml").write_bytes(GEN)
    before = stamps(out)
    with pytest.raises(error, match="reused"):
        output.write_tree(out, NEW, reused=reused)
    with pytest.raises(output.ReusedChanged, match="no longer in this fleet's inventory"):
        output.write_tree(out, {}, reused={"b/ns/mine.yaml"})
    info = os.lstat(out / "a" / "ns" / "x_yaml")
    with pytest.raises(output.ReusedChanged, match="changed since they were proven"):
        output.write_tree(out, {}, reused={"a/ns/x_yaml": (
            info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns - 1, info.st_mode)})
    assert stamps(out) == before


CHILD = """
import json, os, shutil, signal, sys
from pathlib import Path
from meshgen import output, swap
out, step = Path(sys.argv[1]), sys.argv[2]
files = {k: v.encode() for k, v in json.loads(sys.argv[3]).items()}
if sys.argv[4] == "fallback":
    swap._RENAMEAT2 = None
def die(*_, **__):
    os.kill(os.getpid(), signal.SIGKILL)
def after(function):
    def call(*args, **kwargs):
        function(*args, **kwargs)
        die()
    return call
calls = []
def nth(function, n):  # dies once the n-th call returned
    def call(*args, **kwargs):
        calls.append(1)
        result = function(*args, **kwargs)
        if len(calls) == n:
            die()
        return result
    return call
if step == "staging":
    output._link = nth(output._link, 1)
elif step == "sync":
    os.sync = die
elif step == "exchange":
    swap.exchange = after(swap.exchange)
elif step == "first-rename":
    os.rename = nth(os.rename, 1)
elif step == "second-rename":
    os.rename = nth(os.rename, 2)
elif step == "rmtree":
    shutil.rmtree = die
output.write_tree(out, files)
"""


@pytest.mark.parametrize("step,mode", [
    ("staging", "exchange"), ("sync", "exchange"), ("exchange", "exchange"),
    ("rmtree", "exchange"), ("staging", "fallback"), ("first-rename", "fallback"),
    ("second-rename", "fallback"), ("rmtree", "fallback")])
def test_a_build_killed_at_each_step_leaves_the_old_or_the_new_tree(
        tmp_path: Path, step: str, mode: str) -> None:
    trees = {}
    for name, files in (("new", NEW), ("old", OLD)):
        output.write_tree(tmp_path / name, files)
        trees[name] = on_disk(tmp_path / name)
    out = tmp_path / "out"
    output.write_tree(out, OLD)
    killed = subprocess.run(
        [sys.executable, "-c", CHILD, str(out), step,
         json.dumps({k: v.decode() for k, v in NEW.items()}), mode],
        capture_output=True, text=True, timeout=60)
    assert killed.returncode == -9, killed.stderr
    now = on_disk(out) if out.exists() else {}
    if step == "first-rename":  # without an atomic exchange: b/ is briefly away
        assert now == {k: v for k, v in trees["old"].items() if not k.startswith("b/")}
    else:
        state = next((name for name, tree in trees.items() if tree == now), "mixed")
        assert state == ("old" if step in ("staging", "sync") else "new")
    # the next build puts back what the killed one moved away, and clears its leftovers
    output.write_tree(out, NEW)
    assert on_disk(out) == trees["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "old", "out"]


def test_without_an_atomic_exchange_the_next_build_restores_a_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    output.write_tree(out, OLD)
    old = on_disk(out)
    monkeypatch.setattr(swap, "_RENAMEAT2", None)
    real_rename = os.rename

    def die_between(src: str | Path, dst: str | Path) -> None:
        if Path(src).name.startswith(".out.meshgen-stage-"):
            raise KeyboardInterrupt  # b/ is moved away, the new one not yet in
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", die_between)
    with pytest.raises(KeyboardInterrupt):
        output.write_tree(out, NEW)
    monkeypatch.setattr(os, "rename", real_rename)
    assert not (out / "b").exists() and (out / "a").exists()
    assert not output.write_tree(out, OLD).changed  # b/ back first: nothing to do
    assert on_disk(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_without_an_atomic_exchange_a_deep_directory_is_staged_higher_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback names the directory it moves away after its path (hex, twice as
    long): where that name would pass the file system's limit, a directory higher up that
    holds the change is staged instead, and the build succeeds."""
    monkeypatch.setattr(swap, "_RENAMEAT2", None)
    out = tmp_path / "out"
    deep = "prod-eu-west-1-payments-platform-cluster-0001/namespaces/" + \
        "istio-system-federation-gateways-for-payments-team-a-eu-west-01"
    files = fleet(**{f"{deep}/a.yaml": "a: 1\n", f"{deep}/b.yaml": "b: 1\n",
                     "prod-eu-west-1-payments-platform-cluster-0001/kustomization.yaml":
                     "k: 1\n"})
    output.write_tree(out, files)
    files[f"{deep}/a.yaml"] = fleet(x="a: 2\n")["x"]
    diff = output.write_tree(out, files)
    assert diff.modified == [f"{deep}/a.yaml"]
    assert diff.staged is not None and deep.startswith(diff.staged) and diff.staged != deep
    assert on_disk(out)[f"{deep}/a.yaml"] == files[f"{deep}/a.yaml"]
