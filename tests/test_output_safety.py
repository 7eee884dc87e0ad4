"""The output tree is read without trust: forged recovery state, symlinks, FIFOs, another
fleet's files, alias bombs and private keys under --out; the build lock."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import TWO_CLUSTERS
from meshgen import outlock, output
from meshgen.diff import compare, entries
from meshgen.emit import header

MESHES = "meshes:\n  - {name: solo, cluster: east, members: [app]}\n"


def meshgen(*args: str, cwd: Path | None = None, timeout: float = 60
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshgen", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A fleet built into tmp_path/repo/overlays; returns the repository directory."""
    repo = tmp_path / "repo"
    (repo / "fleet").mkdir(parents=True)
    (repo / "fleet" / "fleet.yaml").write_text(TWO_CLUSTERS + MESHES)
    result = meshgen("build", cwd=repo)
    assert result.returncode == 0, result.stderr
    return repo


def tree(root: Path) -> dict[str, bytes | str]:
    """Every entry under root: file bytes, or what a directory or link is."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        found[rel] = f"-> {os.readlink(path)}" if path.is_symlink() else \
            "dir" if path.is_dir() else path.read_bytes()
    return found


def test_a_forged_journal_is_refused_and_nothing_outside_moves(built: Path,
                                                               tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    doomed = tmp_path / "doomed"
    (doomed / "inner").mkdir(parents=True)
    (doomed / "inner" / "data").write_text("keep me\n")
    out = built / "overlays"
    # what a pull request can commit: a journal in the format of meshgen's earlier writer
    (out / ".meshgen-journal").write_text(json.dumps({
        "stage": "../../doomed",
        "operations": [["put", "../../victim.txt", "east/stolen.yaml"],
                       ["delete", "../../victim.txt"]]}))
    before_outside = tree(tmp_path)
    for args in (("build",), ("build", "--check")):
        result = meshgen(*args, cwd=built)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "error[MG141]" in result.stderr and ".meshgen-journal" in result.stderr
        assert "Traceback" not in result.stderr
    assert tree(tmp_path) == before_outside
    assert victim.read_text() == "precious\n"


def test_a_symlinked_directory_inside_out_is_refused(built: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = built / "overlays"
    os.rename(out / "west", tmp_path / "west-moved")
    (out / "west").symlink_to(elsewhere)
    (out / "note.md").symlink_to(tmp_path / "victim.md")
    for args in (("build",), ("build", "--check"), ("diff",)):
        result = meshgen(*args, cwd=built)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("error[MG095]") == 2, result.stderr
        assert f"{out / 'west'}: error[MG095]: is a symlink" in result.stderr
    assert list(elsewhere.iterdir()) == []
    assert not (tmp_path / "victim.md").exists()


def test_a_symlinked_out_itself_is_allowed(built: Path, tmp_path: Path) -> None:
    real = tmp_path / "real-overlays"
    os.rename(built / "overlays", real)
    (built / "overlays").symlink_to(real)
    (built / "fleet" / "fleet.yaml").write_text(TWO_CLUSTERS + MESHES.replace("solo", "duo"))
    result = meshgen("build", cwd=built)
    assert result.returncode == 0, result.stderr
    assert (built / "overlays").is_symlink()
    assert (real / "east/namespaces/duo.yaml").exists()
    assert not (real / "east/namespaces/solo.yaml").exists()


@pytest.mark.parametrize("command", [("build",), ("build", "--check"), ("diff",)])
def test_a_fifo_inside_out_is_refused_without_opening_it(built: Path,
                                                         command: tuple[str, ...]) -> None:
    os.mkfifo(built / "overlays" / "east" / "pipe.yaml")
    started = time.monotonic()
    result = meshgen(*command, cwd=built, timeout=60)
    assert time.monotonic() - started < 30
    assert result.returncode == 2, result.stderr
    assert "pipe.yaml: error[MG095]: is not a regular file (a FIFO" in result.stderr


def test_another_fleets_output_is_neither_pruned_nor_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    mine = {"east/a.yaml": header("mine.yaml").encode() + b"a: 1\n"}
    theirs = {"east/b.yaml": header("theirs.yaml").encode() + b"b: 1\n"}
    output.write_tree(out, mine)
    before = tree(out)
    with pytest.raises(output.OutputError) as refused:
        output.write_tree(out, theirs)
    assert refused.value.problems[0].code == "MG096"
    assert "another fleet (mine.yaml)" in str(refused.value)
    assert tree(out) == before


def test_a_copied_header_file_is_not_pruned_and_is_reported_when_in_the_way(
        tmp_path: Path) -> None:
    out = tmp_path / "out"
    gen = header("fleet.yaml").encode()
    output.write_tree(out, {"east/a.yaml": gen + b"a: 1\n"})
    (out / "east" / "copy.yaml").write_bytes(gen + b"copied: 1\n")  # not in the inventory
    diff = output.write_tree(out, {"east/a.yaml": gen + b"a: 2\n"})
    assert diff.stale == [] and (out / "east" / "copy.yaml").exists()
    with pytest.raises(output.OutputError) as refused:
        output.write_tree(out, {"east/a.yaml": gen + b"a: 2\n", "east/copy.yaml": gen})
    assert [(p.code, Path(p.where).name) for p in refused.value.problems] == [
        ("MG093", "copy.yaml")]
    assert (out / "east" / "copy.yaml").read_bytes() == gen + b"copied: 1\n"


def test_an_inventory_naming_paths_outside_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    gen = header("fleet.yaml").encode()
    output.write_tree(out, {"east/a.yaml": gen})
    (tmp_path / "victim.yaml").write_bytes(gen)
    (out / output.INVENTORY).write_bytes(gen + b"# forged\neast/a.yaml\n../victim.yaml\n")
    with pytest.raises(output.OutputError) as refused:
        output.write_tree(out, {"east/b.yaml": gen})
    assert refused.value.problems[0].code == "MG096"
    assert "line 4 names a path outside" in str(refused.value)
    assert (tmp_path / "victim.yaml").exists()


def bomb(levels: int = 9) -> bytes:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return header("fleet/fleet.yaml").encode() + ("\n".join(lines) + "\n").encode()


def test_diff_reads_an_alias_bomb_in_the_tree_without_expanding_it(built: Path) -> None:
    data = bomb()
    assert len(data) < 800
    out = built / "overlays"
    (out / "east" / "bomb.yaml").write_bytes(data)  # not in the inventory: never parsed
    inventory = (out / "east" / output.INVENTORY).read_bytes()
    started = time.monotonic()
    result = meshgen("diff", "--exit-code", cwd=built, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bomb" not in result.stdout
    # listed in a forged inventory, it is read through the bounded loader: text, not a hang
    (out / "east" / output.INVENTORY).write_bytes(inventory + b"bomb.yaml\n")
    result = meshgen("diff", cwd=built, timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "east: -1 file" in result.stdout
    assert elapsed < 60
    found = entries({"east/bomb.yaml": data})
    assert [e.obj for e in found.values()] == [data.decode()]
    assert not compare({"east/bomb.yaml": data}, {"east/bomb.yaml": data})


def private_key_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


def test_a_private_key_anywhere_under_out_stops_the_build(built: Path) -> None:
    out = built / "overlays"
    (out / "ca" / "roots" / "r1").mkdir(parents=True)
    (out / "ca" / "roots" / "r1" / "root-key.pem").write_bytes(private_key_pem())
    (built / "fleet" / "fleet.yaml").write_text(TWO_CLUSTERS + MESHES.replace("solo", "duo"))
    before = tree(out)
    for args in (("build",), ("build", "--check")):
        result = meshgen(*args, cwd=built)
        assert result.returncode == 2, result.stderr
        assert f"{out}/ca/roots/r1/root-key.pem:1:1: error[MG097]: holds a private key" \
            in result.stderr
    assert tree(out) == before


def test_the_lock_names_the_holder_and_dies_with_it(built: Path) -> None:
    (built / "fleet" / "fleet.yaml").write_text(TWO_CLUSTERS + MESHES.replace("solo", "duo"))
    out = built / "overlays"
    before = tree(out)
    with output.locked(out):
        held = meshgen("build", cwd=built)
    assert held.returncode == 1, held.stderr
    assert (f"{out}: error[MG098]: another meshgen build (pid {os.getpid()}) is writing "
            "this output directory") in held.stderr
    assert tree(out) == before
    # a lock file left by a build killed with SIGKILL holds no lock: the next build runs
    (built / ".overlays.meshgen-lock").write_text("999999\n")
    result = meshgen("build", cwd=built)
    assert result.returncode == 0, result.stderr
    assert not (built / ".overlays.meshgen-lock").exists()


def test_a_holder_that_has_not_yet_written_its_pid_is_still_named(tmp_path: Path) -> None:
    """Between a holder's flock and its pid write the lock file is empty; a build refused
    in that window waits briefly for the pid instead of naming nobody (seen in CI)."""
    out = tmp_path / "overlays"
    out.mkdir()
    path = outlock.lock_path(outlock.resolved(out))
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        late = threading.Timer(0.05, lambda: os.pwrite(fd, b"4242\n", 0))
        late.start()
        with pytest.raises(output.OutputError) as refused, output.locked(out):
            pass
        late.join()
    finally:
        os.close(fd)
    assert "another meshgen build (pid 4242) is writing" in str(refused.value)
