"""The forked proof of the output tree (meshgen.background): the value comes from a
child; anything that goes wrong there is answered by computing in this process; a child
nobody waits for is killed and reaped; a build that fails leaves no child behind."""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import EXAMPLE_FLEET
from meshgen.background import Background
from meshgen.cli import main


def children() -> set[int]:
    """This process's children, zombies included (from /proc: whatever other tests left
    running does not count, each test compares before and after)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.add(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def no_children_left() -> Iterator[None]:
    before = children()
    yield
    assert children() <= before


def test_the_value_is_computed_by_a_child() -> None:
    parent = os.getpid()
    with Background(lambda: (os.getpid(), os.getppid(), "x" * 200_000)) as job:
        pid, ppid, text = job.result()
    assert pid != parent and ppid == parent and len(text) == 200_000


def test_an_exception_in_the_child_is_raised_again_by_this_process() -> None:
    parent = os.getpid()

    def fails() -> int:
        raise ValueError(f"raised in {'the parent' if os.getpid() == parent else 'a child'}")

    with Background(fails) as job, pytest.raises(ValueError, match="raised in the parent"):
        job.result()


def test_a_child_that_dies_or_cannot_send_its_value_is_replaced_by_this_process() -> None:
    parent = os.getpid()

    def dies() -> int:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return 7

    with Background(dies) as job:
        assert job.result() == 7
    unpicklable = Background(lambda: (os.getpid(), lambda: None))
    with unpicklable:
        pid, _ = unpicklable.result()
    assert pid == parent
    with pytest.raises((pickle.PicklingError, AttributeError)):  # why the child could not
        pickle.dumps(lambda: None)


def test_a_child_whose_value_is_not_wanted_is_killed_and_reaped() -> None:
    started = time.monotonic()
    with Background(lambda: time.sleep(60)):
        pass
    assert time.monotonic() - started < 10


def test_a_build_that_fails_after_the_proof_started_leaves_no_child(tmp_path: Path) -> None:
    """The fleet changed (so the tree's proof runs in a child) and is broken: the build
    fails with its located error, and the child is gone."""
    shutil.copytree(EXAMPLE_FLEET.parent, tmp_path / "fleet")
    fleet, out = tmp_path / "fleet" / "fleet.yaml", tmp_path / "overlays"
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(fleet), "--out", str(out)]).exit_code == 0
    fleet.write_text(fleet.read_text().replace("clusters:", "clusters: [", 1))
    result = runner.invoke(main, ["build", str(fleet), "--out", str(out)])
    assert result.exit_code == 2 and "error[MG001]" in result.output


def test_without_a_file_descriptor_for_the_pipe_the_value_is_computed_here() -> None:
    """A process out of file descriptors cannot make the pipe: no child, no traceback."""
    script = """
import os, resource
from meshgen.background import Background
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
held = []
try:
    while True:
        held.append(os.open("/dev/null", os.O_RDONLY))
except OSError:
    pass
with Background(os.getpid) as job:
    print(job.result() == os.getpid())
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False)
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "True", "")


def test_a_build_after_a_change_takes_the_proof_from_its_child(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk that proves the tree runs once, in a child, and the build reuses what
    that child proved (not a second walk of its own)."""
    from meshgen import build as build_module

    shutil.copytree(EXAMPLE_FLEET.parent, tmp_path / "fleet")
    fleet, out = tmp_path / "fleet" / "fleet.yaml", tmp_path / "overlays"
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(fleet), "--out", str(out)]).exit_code == 0
    fleet.write_text(fleet.read_text().replace("members: [stage-bookinfo]",
                                               "members: [stage-bookinfo, stage-extra]"))
    walkers = tmp_path / "walkers"
    real = build_module._reusable_tree

    def recorded(*args: Any) -> Any:
        with open(walkers, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        return real(*args)

    monkeypatch.setattr(build_module, "_reusable_tree", recorded)
    result = runner.invoke(main, ["build", str(fleet), "--out", str(out), "--progress"])
    assert result.exit_code == 0 and "reused)" in result.output, result.output
    pids = walkers.read_text().split()
    assert len(pids) == 1 and int(pids[0]) != os.getpid()
    # `build --check` asks only whether the tree is up to date: nothing is proven for it
    walkers.unlink()
    fleet.write_text(fleet.read_text().replace("stage-extra", "stage-other"))
    check = runner.invoke(main, ["build", str(fleet), "--out", str(out), "--check"])
    assert check.exit_code == 1 and not walkers.exists(), check.output
