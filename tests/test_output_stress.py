"""Real processes against one output tree: builds killed at random points, concurrent
builds, and a disk that is full, read-only or under a file-size limit."""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import TWO_CLUSTERS

# two versions of a fleet whose outputs differ in many files: every overlay, added and
# removed meshes, and changed objects
OLD = TWO_CLUSTERS + """\
meshes:
  - {name: alpha, cluster: east, members: [app-a]}
  - {name: beta, cluster: west, members: [app-b]}
  - {name: gamma, cluster: east, members: [app-c], version: v2.5}
"""
NEW = TWO_CLUSTERS + """\
meshes:
  - {name: alpha, cluster: east, members: [app-a, app-x]}
  - {name: delta, cluster: west, members: [app-d]}
  - {name: gamma, cluster: west, members: [app-c], version: v2.6}
"""
COMMAND = [sys.executable, "-m", "meshgen", "build"]


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def build(repo: Path, text: str, preexec_fn: Callable[[], None] | None = None
          ) -> subprocess.CompletedProcess[str]:
    (repo / "fleet" / "fleet.yaml").write_text(text)
    return subprocess.run(COMMAND, cwd=repo, capture_output=True, text=True, timeout=120,
                          preexec_fn=preexec_fn)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "repo" / "fleet").mkdir(parents=True)
    return tmp_path / "repo"


def test_builds_killed_at_random_points_leave_the_old_or_the_new_tree(repo: Path) -> None:
    trees = {}
    for name, text in (("new", NEW), ("old", OLD)):
        assert build(repo, text).returncode == 0
        trees[name] = files(repo / "overlays")
    assert trees["old"] != trees["new"]
    started = time.monotonic()
    assert build(repo, NEW).returncode == 0  # a rebuild that changes the tree
    duration = time.monotonic() - started
    rng = random.Random(12)
    outcomes: Counter[str] = Counter()
    for trial in range(30):
        text = OLD if trial % 2 == 0 else NEW
        (repo / "fleet" / "fleet.yaml").write_text(text)
        process = subprocess.Popen(COMMAND, cwd=repo, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.1, 1.0) * duration)
        finished = process.poll() is not None
        process.send_signal(signal.SIGKILL)
        process.wait()
        now = files(repo / "overlays")
        state = next((name for name, tree in trees.items() if tree == now), "mixed")
        outcomes[f"{state} ({'finished' if finished else 'killed'})"] += 1
        assert state != "mixed", f"trial {trial}: neither the old nor the new tree"
    print(f"kill test: {dict(outcomes)} over 30 trials")
    assert build(repo, NEW).returncode == 0
    assert files(repo / "overlays") == trees["new"]
    assert sorted(p.name for p in repo.iterdir()) == ["fleet", "overlays"]


def test_concurrent_builds_take_turns_or_say_who_holds_the_lock(repo: Path) -> None:
    assert build(repo, OLD).returncode == 0
    trees = {"old": files(repo / "overlays")}
    (repo / "fleet" / "fleet.yaml").write_text(NEW)
    processes = [subprocess.Popen(COMMAND, cwd=repo, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(20)]
    outcomes: Counter[str] = Counter()
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert "Traceback" not in stderr
        if process.returncode == 0:
            outcomes["built"] += 1
        else:
            assert process.returncode == 1, stderr
            assert "error[MG098]: another meshgen build (pid " in stderr
            outcomes["locked out"] += 1
    print(f"20 concurrent builds: {dict(outcomes)}")
    assert outcomes["built"] >= 1
    assert build(repo, NEW).returncode == 0
    assert "0 added, 0 updated, 0 removed" in build(repo, NEW).stdout
    assert files(repo / "overlays") != trees["old"]
    assert sorted(p.name for p in repo.iterdir()) == ["fleet", "overlays"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount)],
                          capture_output=True)
    if made.returncode != 0:
        pytest.skip("needs permission to mount a tmpfs (run as root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_leaves_the_previous_tree(small_disk: Path) -> None:
    repo = small_disk / "repo"
    (repo / "fleet").mkdir(parents=True)
    assert build(repo, OLD).returncode == 0
    before = files(repo / "overlays")
    try:
        with open(small_disk / "filler", "wb") as filler:
            while True:
                filler.write(b"x" * 1024)
                filler.flush()
    except OSError:
        pass  # the disk is full
    result = build(repo, NEW)
    assert result.returncode == 1, result.stderr
    assert "error[MG140]: cannot write: No space left on device" in result.stderr
    assert "/overlays/" in result.stderr.split("error[MG140]")[0]
    assert "Traceback" not in result.stderr
    assert files(repo / "overlays") == before
    assert sorted(p.name for p in repo.iterdir()) == ["fleet", "overlays"]


def test_a_read_only_disk_is_reported(small_disk: Path) -> None:
    repo = small_disk / "repo"
    (repo / "fleet").mkdir(parents=True)
    assert build(repo, OLD).returncode == 0
    before = files(repo / "overlays")
    (repo / "fleet" / "fleet.yaml").write_text(NEW)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = subprocess.run(COMMAND, cwd=repo, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "error[MG140]" in result.stderr and "Read-only file system" in result.stderr
    assert "Traceback" not in result.stderr
    assert files(repo / "overlays") == before


def test_a_file_size_limit_is_reported(repo: Path) -> None:
    assert build(repo, OLD).returncode == 0
    before = files(repo / "overlays")
    limit = 400  # bytes: more than the lock file, less than a control plane

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = build(repo, NEW, preexec_fn=limited)
    assert result.returncode == 1, result.stderr
    assert "error[MG140]: cannot write: File too large" in result.stderr
    assert "/overlays/" in result.stderr.split("error[MG140]")[0]
    assert "Traceback" not in result.stderr
    assert files(repo / "overlays") == before
    assert sorted(os.listdir(repo)) == ["fleet", "overlays"]
